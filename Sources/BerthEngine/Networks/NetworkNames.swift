// Names on user-defined networks. Each running container's lines
// (`ADDRESS NAME ALIAS... SHORTID`) sit in networks/NET/names/ID; the
// network's `records` file is their union, rewritten atomically on every
// change and read by the network's DNS responder (`berth-monitor dns`),
// which the first container starts and which exits when the last one's
// removal deletes `records`. No daemon stays behind.
import BerthMonitor
import BerthSystem
import Glibc

extension Engine {
  func addNames(_ container: Container, _ state: NetworkState) throws(BerthError) {
    for (network, attachment) in state.attachments where network.dns {
      let directory = networksRunRoot + "/" + network.name
      try mkdirAll(directory + "/names", mode: 0o700)
      let names = ([container.name] + attachment.aliasList + [container.shortID]).joined(
        separator: " ")
      var lines = ""
      for address in [attachment.ipv4, attachment.ipv6].compactMap({ $0 }) {
        lines += "\(address) \(names)\n"
      }
      let lock = try ObjectLock(locksRoot + "/dns-" + network.name, what: "network \(network.name)")
      defer { withExtendedLifetime(lock) {} }
      try writeFileAtomically(
        directory + "/names/" + container.id, Array(lines.utf8), mode: 0o600, durable: false)
      try writeRecords(directory)
      try ensureResponder(network, directory: directory)
    }
  }

  func removeNames(_ id: String, network name: String) {
    let directory = networksRunRoot + "/" + name
    guard fileExists(directory + "/names/" + id) else { return }
    guard let lock = try? ObjectLock(locksRoot + "/dns-" + name, what: "network \(name)") else {
      return
    }
    defer { withExtendedLifetime(lock) {} }
    unlink(directory + "/names/" + id)
    try? writeRecords(directory)
  }

  /// The union of the names files; none left removes `records`, which
  /// ends the responder.
  func writeRecords(_ directory: String) throws(BerthError) {
    let entries = listDirectory(directory + "/names")
    if entries.isEmpty {
      unlink(directory + "/records")
      return
    }
    var text = ""
    for entry in entries.sorted() {
      if let bytes = try? readFile(directory + "/names/" + entry) {
        text += String(decoding: bytes, as: UTF8.self)
      }
    }
    try writeFileAtomically(directory + "/records", Array(text.utf8), mode: 0o644, durable: false)
  }

  /// Starts the network's responder unless one is alive.
  func ensureResponder(_ network: Network, directory: String) throws(BerthError) {
    if let pid = responderPid(directory) {
      _ = pid
      return
    }
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    let listen = network.subnetList.map(\.gateway).joined(separator: ",")
    let upstream = Self.hostResolvers().joined(separator: ",")
    let pid = try ChildProcess.spawn(
      ["berth-monitor", "dns", directory + "/records", listen, upstream], path: binary,
      stdin: .file("/dev/null", O_RDONLY),
      stdout: .file("/dev/null", O_WRONLY),
      stderr: .file(directory + "/dns.log", O_WRONLY | O_CREAT | O_APPEND))
    try writeFileAtomically(
      directory + "/dns.pid", Array("\(pid)\n".utf8), mode: 0o600, durable: false)
  }

  /// The responder's pid if it runs (checked by its command line, so a
  /// reused pid is not taken for it).
  func responderPid(_ directory: String) -> pid_t? {
    guard let bytes = try? readFile(directory + "/dns.pid"),
      let pid = pid_t(String(decoding: bytes, as: UTF8.self).trimmingNewlines())
    else { return nil }
    guard let cmdline = try? readFile("/proc/\(pid)/cmdline") else { return nil }
    let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard words.count >= 3, words[1] == "dns", words[2] == directory + "/records" else {
      return nil
    }
    return pid
  }

  func stopDNS(_ network: Network) {
    let directory = networksRunRoot + "/" + network.name
    unlink(directory + "/records")
    if let pid = responderPid(directory) { kill(pid, SIGTERM) }
  }

  /// The host's nameservers: the responder runs in the host's network
  /// namespace, so a loopback resolver (systemd-resolved's) works for it.
  static func hostResolvers() -> [String] {
    guard let bytes = try? readFile("/etc/resolv.conf") else { return [] }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard fields.count >= 2, fields[0] == "nameserver", IPAddress(String(fields[1])) != nil
      else { return nil }
      return String(fields[1])
    }
  }
}

extension String {
  func trimmingNewlines() -> String {
    var text = Substring(self)
    while text.last == "\n" || text.last == " " { text.removeLast() }
    return String(text)
  }
}
