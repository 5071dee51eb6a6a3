// Names on user-defined networks. Each running container's lines
// (`ADDRESS NAME ALIAS... SHORTID`) sit in networks/NET/names/ID; the
// network's `records` file is their union (plus, for a container on other
// networks too, those networks' names seen by it alone), rewritten
// atomically on every change and read by the network's DNS responder
// (`berth-monitor dns`),
// which the first container starts and which exits when the last one's
// removal deletes `records`. No daemon stays behind.
import BerthMonitor
import BerthSystem
import Glibc

extension Engine {
  func addNames(_ container: Container, _ state: NetworkState) throws(BerthError) {
    let named = state.attachments.filter { $0.network.dns }
    guard !named.isEmpty else { return }
    let lock = try ObjectLock(locksRoot + "/dns", what: "the network names")
    defer { withExtendedLifetime(lock) {} }
    for (network, attachment) in named {
      let directory = networksRunRoot + "/" + network.name
      try mkdirAll(directory + "/names", mode: 0o700)
      let names = ([container.name] + attachment.aliasList + [container.shortID]).joined(
        separator: " ")
      var lines = ""
      for address in [attachment.ipv4, attachment.ipv6].compactMap({ $0 }) {
        lines += "\(address) \(names)\n"
      }
      try writeFileAtomically(
        directory + "/names/" + container.id, Array(lines.utf8), mode: 0o600, durable: false)
    }
    try writeAllRecords()
    for (network, _) in named {
      try ensureResponder(network, directory: networksRunRoot + "/" + network.name)
    }
  }

  func removeNames(_ id: String, network name: String) {
    let directory = networksRunRoot + "/" + name
    guard fileExists(directory + "/names/" + id) else { return }
    guard let lock = try? ObjectLock(locksRoot + "/dns", what: "the network names") else {
      return
    }
    defer { withExtendedLifetime(lock) {} }
    unlink(directory + "/names/" + id)
    try? writeAllRecords()
  }

  /// Every network's `records`: its containers' lines, and for a container
  /// also on other networks, their containers' lines scoped to it (`@ITS
  /// ADDRESS ...`), since it asks this network's responder only. None left
  /// removes `records`, which ends the responder. Called with the names lock.
  func writeAllRecords() throws(BerthError) {
    var members: [String: [String: [String]]] = [:]  // network → container → lines
    for network in listDirectory(networksRunRoot) {
      for id in listDirectory(networksRunRoot + "/" + network + "/names") {
        guard let bytes = try? readFile(networksRunRoot + "/" + network + "/names/" + id) else {
          continue
        }
        members[network, default: [:]][id] = String(decoding: bytes, as: UTF8.self).split(
          separator: "\n"
        ).map(String.init)
      }
    }
    for network in listDirectory(networksRunRoot)
    where fileExists(networksRunRoot + "/" + network + "/names") {
      let directory = networksRunRoot + "/" + network
      let own = members[network] ?? [:]
      if own.isEmpty {
        unlink(directory + "/records")
        continue
      }
      var text = ""
      for id in own.keys.sorted() { text += own[id]!.map { $0 + "\n" }.joined() }
      for id in own.keys.sorted() {
        let clients = own[id]!.compactMap { $0.split(separator: " ").first.map(String.init) }
        for (other, containers) in members.sorted(by: { $0.key < $1.key })
        where other != network && containers[id] != nil {
          for (peer, lines) in containers.sorted(by: { $0.key < $1.key }) where peer != id {
            for client in clients { text += lines.map { "@\(client) \($0)\n" }.joined() }
          }
        }
      }
      try writeFileAtomically(
        directory + "/records", Array(text.utf8), mode: 0o644, durable: false)
    }
  }

  /// Starts the network's responder unless one is alive.
  func ensureResponder(_ network: Network, directory: String) throws(BerthError) {
    if responderPid(directory) != nil { return }
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    let listen = network.subnetList.map(\.gateway).joined(separator: ",")
    let upstream = Self.hostResolvers().joined(separator: ",")
    var arguments = ["berth-monitor", "dns", directory + "/records", listen, upstream]
    if rootless {
      // In the network host, where the bridge (and its address) is.
      guard let host = NetworkHost.livePid(runRoot: runRoot) else {
        throw BerthError(
          .notFound, "the rootless network host is gone", hint: "start the container again")
      }
      arguments = ["berth-monitor", "nsexec", "\(host)", runRoot, binary] + arguments.dropFirst()
    }
    let pid = try ChildProcess.spawn(
      arguments, path: binary,
      stdin: .file("/dev/null", O_RDONLY),
      stdout: .file("/dev/null", O_WRONLY),
      stderr: .file(directory + "/dns.log", O_WRONLY | O_CREAT | O_APPEND))
    try writeFileAtomically(
      directory + "/dns.pid", Array("\(pid)\n".utf8), mode: 0o600, durable: false)
  }

  /// The responder's pid if it runs (checked by its command line, so a
  /// reused pid is not taken for it).
  func responderPid(_ directory: String) -> pid_t? {
    livePid(fromFile: directory + "/dns.pid") { argv in
      argv.count >= 3 && argv[1] == "dns" && argv[2] == directory + "/records"
    }
  }

  func stopDNS(_ network: Network) {
    let directory = networksRunRoot + "/" + network.name
    unlink(directory + "/records")
    if let pid = responderPid(directory) { kill(pid, SIGTERM) }
  }

  /// The host's nameservers: the responder runs in the host's network
  /// namespace, so a loopback resolver (systemd-resolved's) works for it.
  static func hostResolvers() -> [String] {
    HostResolvConf.read().nameservers.filter { IPAddress($0) != nil }
  }
}
