// Rootless bridge networks, the engine's side. The user's network host
// (BerthMonitor/NetworkHost.swift) is started by the first container that
// needs it, with pasta as its way out, and ended after the last. A
// network's bridge, sysctls and firewall table are made inside it by this
// same binary run there (`berth __network-host-bridge`, so the firewall
// stays libnftables in process, as rootful); its DNS responder runs there
// too. The container's veths are plugged in by its monitor, which joins
// the host's user namespace (see MonitorConfig.rootlessBridge). Published
// TCP and UDP ports are host sockets bound here and relayed into the
// network host by `berth-monitor portproxy` (BerthMonitor/PortProxy.swift).
import BerthMonitor
import BerthRuntime
import BerthSystem
import GRDB
import Glibc

extension Engine {
  /// Held from the network host's check until the container using it runs,
  /// so the host is never stopped under a container that is starting.
  func networkHostLock(timeout: Double = 30) throws(BerthError) -> ObjectLock {
    try ObjectLock(locksRoot + "/nethost", what: "the rootless network host", timeout: timeout)
  }

  /// A rootless container's bridge networks: the network host, each
  /// network's bridge in it, the leases and names; what the monitor plugs in.
  func setUpRootlessNetworks(_ container: Container, _ config: ContainerConfig, exposed: [String])
    throws(BerthError)
    -> (state: NetworkState, bridge: RootlessBridge, lock: ObjectLock, ports: PortListeners?)
  {
    let requests = config.networks ?? [NetworkRequest(name: Self.defaultNetwork)]
    let lock = try networkHostLock()
    let host = try ensureNetworkHost()
    var networks: [Network] = []
    for request in requests {
      let network = try self.network(request.name)
      try ensureBridgeInNetworkHost(network, host: host)
      networks.append(network)
    }
    Trace.mark("start: bridges ready")
    let attachments = try lease(container, requests: requests, networks: networks)
    var state = NetworkState(
      namespace: "", attachments: Array(zip(networks, attachments)), published: [],
      needsCleanup: true)
    var ports: PortListeners? = nil
    do {
      ports = try bindRootlessPorts(container, config, exposed: exposed, state)
      state.published = ports?.published ?? []
      try addNames(container, state)
    } catch {
      tearDownNetworks(container.id, release: false)
      throw error
    }
    let side = Self.containerSide(state.attachments)
    let links = state.attachments.map { network, attachment in
      RootlessBridge.Link(
        hostName: Self.hostVethName(container.id, attachment.ordinal), bridge: network.interface,
        name: attachment.interfaceName, mtu: network.mtu, mac: MACAddress.bytes(attachment.mac))
    }
    let bridge = RootlessBridge(
      hostPid: host, runRoot: runRoot, links: links, interfaces: side.interfaces,
      defaultRoutes: side.routes)
    return (state, bridge, lock, ports)
  }

  static func rootlessBridgeTCPOrUDP(_ port: Int, _ proto: String) -> BerthError {
    BerthError(
      .unsupported,
      "rootless containers on bridge networks publish TCP and UDP ports, not \(port)/\(proto)",
      hint: "publish it from the default rootless network (pasta), or run as root")
  }

  /// The published ports of a rootless bridge container: claimed, and
  /// their host sockets bound and listening now, so a port in use fails
  /// the start before anything runs. The relay starts with the monitor.
  func bindRootlessPorts(
    _ container: Container, _ config: ContainerConfig, exposed: [String], _ state: NetworkState
  ) throws(BerthError) -> PortListeners? {
    let requests = PortRequest.requested(config, exposed: exposed)
    guard !requests.isEmpty else { return nil }
    if let port = requests.first(where: { $0.protocol != "tcp" && $0.protocol != "udp" }) {
      throw Self.rootlessBridgeTCPOrUDP(port.containerPort, port.protocol)
    }
    guard let target = state.attachments.first(where: { !$0.network.isInternal }),
      let address = target.attachment.ipv4 ?? target.attachment.ipv6
    else {
      throw BerthError(
        .invalidArgument, "ports cannot be published from internal networks only",
        hint: "add a non-internal --network")
    }
    let published = try claimPorts(container, requests)
    let listeners = PortListeners(published: published)
    for port in published {
      guard let fd = Self.boundSocket(port), fd >= 0 else {
        throw BerthError(
          .alreadyExists, "port \(port.hostPort)/\(port.protocol) is already in use on the host",
          hint: "choose another host port")
      }
      listeners.sockets.append(fd)
      guard port.protocol == "udp" || listen(fd, 128) == 0 else {
        throw .system("cannot listen on port \(port.hostPort)", currentErrno)
      }
      listeners.targets.append("\(address) \(port.containerPort)")
    }
    return listeners
  }

  /// The relay of a started container's ports, gone with its monitor.
  func startPortProxy(_ id: String, _ ports: PortListeners, host: pid_t, monitor: pid_t)
    throws(BerthError)
  {
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    let pid = try ChildProcess.spawn(
      ["berth-monitor", "portproxy", "\(host)", runRoot, id, "\(monitor)"] + ports.targets,
      path: binary, stdin: .file("/dev/null", O_RDONLY), stdout: .file("/dev/null", O_WRONLY),
      stderr: .file(runDirectory(id) + "/portproxy.log", O_WRONLY | O_CREAT | O_APPEND),
      extraFDs: ports.sockets)
    try writeFileAtomically(
      runDirectory(id) + "/" + Self.portProxyPidFile, Array("\(pid)\n".utf8), mode: 0o600,
      durable: false)
  }

  static let portProxyPidFile = "portproxy.pid"

  /// Ends a container's relay if it still runs (it ends itself with the
  /// monitor; this is for a monitor that was killed).
  func stopPortProxy(_ id: String) {
    let file = runDirectory(id) + "/" + Self.portProxyPidFile
    let pid = livePid(fromFile: file) { argv in
      argv.count > 4 && argv[1] == "portproxy" && argv[4] == id
    }
    if let pid { kill(pid, SIGTERM) }
    unlink(file)
  }

  /// The network host's pid, started (user namespace mapped, network
  /// namespace given pasta) unless it runs. Called with its lock.
  func ensureNetworkHost() throws(BerthError) -> pid_t {
    if let pid = NetworkHost.livePid(runRoot: runRoot) { return pid }
    stopNetworkHost()  // what a killed one left: its pasta, the bridges' marks
    guard let pasta = Self.pastaPath() else {
      throw BerthError(
        .notFound, "rootless bridge networks need pasta", hint: "install Debian's passt package")
    }
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    let maps = try RootlessIDs.mappings()
    let ready = try makePipe()
    let go: (read: Int32, write: Int32)
    do { go = try makePipe() } catch {
      close(ready.read)
      close(ready.write)
      throw error
    }
    defer {
      close(ready.read)
      close(go.write)
    }
    let log = runRoot + "/nethost.log"
    let pid: pid_t
    do {
      pid = try ChildProcess.spawn(
        ["berth-monitor", "nethost", runRoot, "3", "4"], path: binary,
        stdin: .file("/dev/null", O_RDONLY), stdout: .file("/dev/null", O_WRONLY),
        stderr: .file(log, O_WRONLY | O_CREAT | O_APPEND), extraFDs: [ready.write, go.read])
    } catch {
      close(ready.write)
      close(go.read)
      throw error
    }
    close(ready.write)
    close(go.read)
    do throws(BerthError) {
      var byte: UInt8 = 0
      guard read(ready.read, &byte, 1) == 1 else {
        throw BerthError(
          .system, "the rootless network host could not make its user namespace",
          hint: "see \(log)")
      }
      try UserNamespace.writeMaps(pid: pid, uid: maps.uid, gid: maps.gid)
      byte = 1
      _ = write(go.write, &byte, 1)
      guard read(ready.read, &byte, 1) == 1 else {
        throw BerthError(
          .system, "the rootless network host could not make its network namespace",
          hint: "see \(log)")
      }
      // Nothing forwarded either way: the bridges' traffic goes out
      // through pasta's interface, masqueraded by the network's rules.
      let status = try ChildProcess.run(
        Self.pastaCommand(pasta, pidFile: NetworkHost.pastaPidFile(runRoot: runRoot))
          + ["-t", "none", "-u", "none", "\(pid)"], path: pasta,
        stdin: .file("/dev/null", O_RDONLY))
      guard status == 0 else {
        throw BerthError(
          .system, "pasta could not connect the rootless network host (exit \(status))",
          hint: "pasta needs /dev/net/tun readable and writable by you (mode 0666)")
      }
      try writeFileAtomically(
        NetworkHost.pidFile(runRoot: runRoot), Array("\(pid)\n".utf8), mode: 0o600,
        durable: false)
    } catch {
      kill(pid, SIGKILL)
      _ = try? BerthSystem.waitForExit(pid)
      PastaProcess.stop(pidFile: NetworkHost.pastaPidFile(runRoot: runRoot))
      throw error
    }
    return pid
  }

  /// The network's bridge, sysctls and firewall in the network host, made
  /// once per host (the mark goes with the host).
  func ensureBridgeInNetworkHost(_ network: Network, host: pid_t) throws(BerthError) {
    if fileExists(networksRunRoot + "/" + network.name + "/ready") { return }
    try runBridgeHelper(host: host, network, remove: false)
  }

  /// `berth __network-host-bridge [--remove] NAME` in the network host.
  func runBridgeHelper(host: pid_t, _ network: Network, remove: Bool) throws(BerthError) {
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    let result = try ChildProcess.capture(
      [
        "berth-monitor", "nsexec", "\(host)", runRoot, Self.berthExecutable(),
        "__network-host-bridge", "--root", root, "--runroot", runRoot,
      ] + (remove ? ["--remove"] : []) + [network.name], path: binary, mergeStderr: true)
    guard result.status == 0 else {
      let output = result.output.split(separator: "\n").last.map(String.init) ?? ""
      throw BerthError(
        .system,
        "cannot \(remove ? "remove" : "set up") network \(network.name) in the rootless network host: \(output)"
      )
    }
  }

  /// Inside the network host: the network's bridge made, or removed.
  public func bridgeHere(_ name: String, remove: Bool) throws(BerthError) {
    let network = try network(name)
    if remove { try tearDownBridge(network) } else { try ensureBridge(network) }
  }

  /// `network rm` rootless: the bridge in the network host, if it runs (it
  /// goes with the host otherwise).
  func tearDownRootlessBridge(_ network: Network) {
    let directory = networksRunRoot + "/" + network.name
    stopDNS(network)
    if let host = NetworkHost.livePid(runRoot: runRoot), fileExists(directory + "/ready") {
      try? runBridgeHelper(host: host, network, remove: true)
    }
    try? removeTree(directory)
  }

  /// Ends the network host, its pasta and DNS responders; the bridges go
  /// with its namespace, so their marks go too. Missing is fine.
  func stopNetworkHost() {
    if let pid = NetworkHost.livePid(runRoot: runRoot) { kill(pid, SIGTERM) }
    unlink(NetworkHost.pidFile(runRoot: runRoot))
    PastaProcess.stop(pidFile: NetworkHost.pastaPidFile(runRoot: runRoot))
    for name in listDirectory(networksRunRoot) {
      let directory = networksRunRoot + "/" + name
      unlink(directory + "/ready")
      if let responder = responderPid(directory) { kill(responder, SIGTERM) }
    }
  }

  /// After container `id` left its networks (or a start failed, nil): the
  /// network host goes when no other running container has a lease. A start
  /// holding the lock keeps it (that container will stop it in turn).
  func stopNetworkHostIfUnused(except id: String?) {
    guard rootless, NetworkHost.livePid(runRoot: runRoot) != nil,
      let lock = try? networkHostLock(timeout: 0)
    else { return }
    defer { withExtendedLifetime(lock) {} }
    let others =
      (try? database.read { db in
        try Int.fetchOne(
          db,
          sql: """
            SELECT COUNT(*) FROM attachment JOIN container ON container.id = attachment.container
            WHERE container.id != ? AND container.state IN ('running', 'paused')
            """, arguments: [id ?? ""])
      }) ?? 1
    if others == 0 { stopNetworkHost() }
  }
}

/// A rootless bridge container's bound host sockets, closed with this value
/// (the relay has its own copies by then).
final class PortListeners {
  let published: [PublishedPort]
  var sockets: [Int32] = []
  var targets: [String] = []

  init(published: [PublishedPort]) { self.published = published }

  deinit { for fd in sockets { close(fd) } }
}
