// Rootless containers: the monitor moves into a user namespace of its own
// (its user as 0, the subordinate ids above, as the rootless image store
// unpacked the layers) and a mount namespace where it may mount the
// overlay. Maps with more than one id need the setuid newuidmap and
// newgidmap, run from outside the namespace: by the monitor's starter,
// which waits for the monitor to unshare, writes the maps, and lets it go.
import BerthOCI
import BerthRuntime
import BerthSystem
import CBerth
import Glibc
import SystemPackage

public enum RootlessNamespace {
  /// In the starter, after fork: maps `child`'s user namespace once it says so.
  public static func mapChild(
    _ child: pid_t, config: MonitorConfig, ready: Int32, go: Int32, slirpExit: Int32 = -1
  ) throws(BerthError) {
    var byte: UInt8 = 0
    guard read(ready, &byte, 1) == 1 else {
      throw BerthError(.system, "the monitor could not make its user namespace")
    }
    // A monitor joining the network host's user namespace finds it mapped.
    if config.rootlessBridge == nil {
      try UserNamespace.writeMaps(
        pid: child, uid: config.uidMappings ?? [], gid: config.gidMappings ?? [])
    }
    if let pasta = config.pasta, let path = pasta.first {
      // pasta configures the namespace, then goes to the background and
      // exits when the namespace is gone; its first process returns then.
      let status = try ChildProcess.run(
        pasta + ["\(child)"], path: path, stdin: .file("/dev/null", O_RDONLY))
      guard status == 0 else {
        throw BerthError(
          .system, "pasta could not set up the container's network (exit \(status))",
          hint: "pasta needs /dev/net/tun readable and writable by you (mode 0666)")
      }
    }
    if let slirp = config.slirp4netns {
      try SlirpNetwork.start(slirp, pid: child, exitFD: slirpExit)
    }
    byte = 1
    _ = write(go, &byte, 1)
  }

  /// In the monitor: a new user namespace (mapped by the starter), or the
  /// network host's for bridge networks, then a private mount namespace
  /// with the container's overlay mounted.
  public static func enter(config: MonitorConfig, ready: Int32, go: Int32) throws(BerthError) {
    var hostNetwork: Int32 = -1
    defer { if hostNetwork >= 0 { close(hostNetwork) } }
    if let bridge = config.rootlessBridge {
      let host = try NetworkHost.openNamespaces(pid: bridge.hostPid, runRoot: bridge.runRoot)
      hostNetwork = host.network
      defer { close(host.user) }
      try setns(host.user, .user, path: "the rootless network host's user namespace")
    } else {
      try check("cannot make a user namespace") { berth_unshare(Int32(BERTH_CLONE_NEWUSER)) }
    }
    if config.pasta != nil || config.slirp4netns != nil || config.rootlessBridge != nil {
      try check("cannot make a network namespace") { berth_unshare(Int32(BERTH_CLONE_NEWNET)) }
    }
    var byte: UInt8 = 1
    _ = write(ready, &byte, 1)
    guard read(go, &byte, 1) == 1 else {
      throw BerthError(
        .permissionDenied, "the user namespace's id maps could not be written",
        hint: "give your user ranges in /etc/subuid and /etc/subgid (uidmap installs newuidmap)")
    }
    try check("cannot become root in the user namespace") { berth_setresgid(0) }
    try check("cannot become root in the user namespace") { berth_setresuid(0) }
    if let bridge = config.rootlessBridge {
      try NetworkHost.wire(bridge, hostNetwork: hostNetwork)
    }
    try check("cannot make a mount namespace") { berth_unshare(Int32(BERTH_CLONE_NEWNS)) }
    try check("cannot make mounts private") { mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) }
    if let owner = config.upperOwner {
      try check("cannot give \(owner.path) to the container's root") {
        chown(owner.path, owner.uid, owner.gid)
      }
    }
    if let options = config.overlayOptions {
      let target = config.rootfsMount ?? ""
      try check("cannot mount the container's overlay on \(target)") {
        mount("overlay", target, "overlay", 0, options)
      }
      for fill in config.volumeFills { try fill.perform(rootfs: target) }
    }
    for tree in config.chownTrees {
      try RootFS.chownTree(tree.path, uid: tree.uid, gid: tree.gid)
    }
  }
}

/// A container's pasta, found by its pid file and checked by its command
/// line before it is signalled (the pid may have been reused).
public enum PastaProcess {
  public static func stop(pidFile: String) {
    let pasta = livePid(fromFile: pidFile) { argv in
      argv.contains(pidFile)
        && argv.first.map({ $0.hasSuffix("pasta") || $0.contains("passt") }) == true
    }
    guard let pasta else { return }
    kill(pasta, SIGTERM)
    unlink(pidFile)
  }
}

/// slirp4netns on the monitor's network namespace: started by the starter
/// (outside the user namespace, like pasta), ready when it writes to its
/// ready pipe; it exits when the exit pipe's last writer, the monitor, is
/// gone. Ports are forwarded through its API socket, one JSON request per
/// connection (slirp4netns's protocol).
enum SlirpNetwork {
  static func start(_ slirp: SlirpConfig, pid: pid_t, exitFD: Int32) throws(BerthError) {
    let ready = try makePipe()
    let spawned: pid_t
    do {
      spawned = try ChildProcess.spawn(
        [
          slirp.path, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3",
          "--exit-fd=4", "--api-socket", slirp.apiSocket, "\(pid)", "tap0",
        ], path: slirp.path, stdin: .file("/dev/null", O_RDONLY),
        stdout: .file("/dev/null", O_WRONLY), stderr: .file("/dev/null", O_WRONLY),
        extraFDs: [ready.write, exitFD])
    } catch {
      close(ready.read)
      close(ready.write)
      throw error
    }
    close(ready.write)
    defer { close(ready.read) }
    var byte: UInt8 = 0
    guard read(ready.read, &byte, 1) == 1 else {
      kill(spawned, SIGKILL)
      throw BerthError(.system, "slirp4netns could not set up the container's network")
    }
    for forward in slirp.forwards {
      let request = """
        {"execute":"add_hostfwd","arguments":{"proto":"\(forward.proto)",\
        "host_addr":"\(forward.hostAddress)","host_port":\(forward.hostPort),\
        "guest_port":\(forward.guestPort)}}
        """
      let reply = try apiRequest(slirp.apiSocket, request)
      guard reply.contains("\"return\"") else {
        kill(spawned, SIGKILL)
        throw BerthError(
          .system, "slirp4netns could not forward port \(forward.hostPort): \(reply)")
      }
    }
  }

  static func apiRequest(_ path: String, _ request: String) throws(BerthError) -> String {
    let fd = try UnixSocket.connect(
      path, name: "slirp4netns's API socket",
      hint: "slirp4netns exited before it was asked for the ports; try --network pasta")
    defer { close(fd) }
    try FileDescriptor(rawValue: fd).writeFully(request, what: "cannot write to slirp4netns")
    shutdown(fd, Int32(SHUT_WR))
    let reply = try FileDescriptor(rawValue: fd).readToEnd(
      what: "cannot read slirp4netns's reply", limit: 65536)
    return String(decoding: reply, as: UTF8.self)
  }
}
