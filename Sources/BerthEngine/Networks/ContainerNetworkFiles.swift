// /etc/hosts and /etc/resolv.conf of a container, as podman writes them:
// localhost, the container's own addresses under its hostname and name,
// `--add-host` entries and host.containers.internal; the network's DNS
// responder when it has one, else the host's resolvers (loopback ones
// dropped: unreachable from another network namespace), `--dns*` over both.
import BerthSystem
import Glibc

enum ContainerNetworkFiles {
  static func hosts(
    container: Container, hostname: String, config: ContainerConfig, network: NetworkState?
  ) -> String {
    var text = "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain\n"
    if config.network == "host" {
      text = (try? readFile("/etc/hosts")).map { String(decoding: $0, as: UTF8.self) } ?? text
      if !text.hasSuffix("\n") { text += "\n" }
    }
    // `host-gateway` is docker's word for the host as the container sees it.
    let hostGateway =
      network?.attachments.first(where: { !$0.network.isInternal })?.network.subnetList.first?
      .gateway ?? "127.0.0.1"
    for entry in config.addHosts ?? [] {
      // NAME:IP (IPv6 addresses contain colons: split at the first).
      guard let colon = entry.firstIndex(of: ":") else { continue }
      var address = String(entry[entry.index(after: colon)...])
      if address == "host-gateway" { address = hostGateway }
      text += "\(address)\t\(entry[..<colon])\n"
    }
    let names = hostname == container.name ? hostname : "\(hostname) \(container.name)"
    if let network, !network.attachments.isEmpty {
      for (_, attachment) in network.attachments {
        for address in [attachment.ipv4, attachment.ipv6].compactMap({ $0 }) {
          text += "\(address)\t\(names)\n"
        }
      }
      if let first = network.attachments.first(where: { !$0.network.isInternal }),
        let gateway = first.network.subnetList.first?.gateway
      {
        text += "\(gateway)\thost.containers.internal host.docker.internal\n"
      }
    } else if config.network != "host" {
      text += "127.0.1.1\t\(names)\n"
    }
    return text
  }

  static func resolvConf(config: ContainerConfig, network: NetworkState?) -> String {
    let host = HostResolvConf.read()
    var nameservers = host.nameservers.filter {
      config.network == "host" || !($0.hasPrefix("127.") || $0 == "::1")
    }
    var search = host.search
    var options = host.options
    let responders =
      network?.attachments.filter { $0.network.dns }.flatMap {
        $0.network.subnetList.map(\.gateway)
      } ?? []
    if !responders.isEmpty {
      nameservers = responders
      search = ["dns.berth"] + search
    }
    if let servers = config.dnsServers, !servers.isEmpty { nameservers = servers }
    if let domains = config.dnsSearch, !domains.isEmpty {
      search = domains == ["."] ? [] : domains
    }
    if let given = config.dnsOptions, !given.isEmpty { options = given }
    var text = ""
    if !search.isEmpty { text += "search " + search.joined(separator: " ") + "\n" }
    for server in nameservers { text += "nameserver \(server)\n" }
    if !options.isEmpty { text += "options " + options.joined(separator: " ") + "\n" }
    return text
  }
}

/// The host's /etc/resolv.conf, the lines a container's copy is made of.
struct HostResolvConf {
  var nameservers: [String] = []
  var search: [String] = []
  var options: [String] = []

  static func read() -> HostResolvConf {
    var conf = HostResolvConf()
    guard let bytes = try? readFile("/etc/resolv.conf") else { return conf }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      guard fields.count >= 2 else { continue }
      switch fields[0] {
      case "nameserver": conf.nameservers.append(fields[1])
      case "search", "domain": conf.search += fields.dropFirst()
      case "options": conf.options += fields.dropFirst()
      default: break
      }
    }
    return conf
  }
}

extension Engine {
  /// What the monitor runs when a container with ports or DNS names ends:
  /// this same `berth`, with this engine's roots.
  func cleanupCommand(_ id: String) -> [String] {
    [Self.berthExecutable(), "container", "cleanup", "--root", root, "--runroot", runRoot, id]
  }

  /// This berth binary, for the commands it leaves for others to run.
  static func berthExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, 4095)
    return count > 0 ? String(cString: buffer) : "/usr/local/bin/berth"
  }

  /// `berth container cleanup ID`: the monitor's last word, once it is gone.
  public func cleanUpContainer(_ id: String) throws(BerthError) {
    guard try database.read({ db in try Container.row(db, id: id) }) != nil else { return }
    let lock = try self.lock(container: id)
    defer { withExtendedLifetime(lock) {} }
    _ = waitForMonitor(id, seconds: 5)
    _ = try refreshOptional(id)
  }
}
