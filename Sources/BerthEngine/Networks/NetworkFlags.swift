// `--network` and the flags that refine it, read as podman reads them:
// none, host, container:NAME, ns:PATH alone; otherwise one or more bridge
// networks, `bridge` meaning the default one, each NAME[:alias=A,ip=IP,
// ip6=IP,mac=MAC]; --ip, --ip6, --mac-address and --network-alias apply
// to the first.
import BerthSystem

public struct NetworkFlags: Sendable {
  public var networks: [String] = []
  public var ip: String?
  public var ip6: String?
  public var mac: String?
  public var aliases: [String] = []
  public var ports: [String] = []
  public var publishAll = false
  public var dnsServers: [String] = []
  public var dnsSearch: [String] = []
  public var dnsOptions: [String] = []
  /// `--add-host NAME:IP` (or NAME:host-gateway).
  public var addHosts: [String] = []

  public init() {}

  public func apply(to config: inout ContainerConfig, rootless: Bool) throws(BerthError) {
    try applyNetworks(to: &config, rootless: rootless)
    for server in dnsServers where IPAddress(server) == nil {
      throw BerthError(
        .invalidArgument, "invalid --dns address \"\(server)\"",
        hint: "give an IPv4 or IPv6 address")
    }
    for entry in addHosts {
      let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty,
        IPAddress(parts[1]) != nil || parts[1] == "host-gateway"
      else {
        throw BerthError(
          .invalidArgument, "invalid --add-host \"\(entry)\"", hint: "use NAME:IP")
      }
    }
    config.dnsServers = dnsServers.isEmpty ? nil : dnsServers
    config.dnsSearch = dnsSearch.isEmpty ? nil : dnsSearch
    config.dnsOptions = dnsOptions.isEmpty ? nil : dnsOptions
    config.addHosts = addHosts.isEmpty ? nil : addHosts
  }

  func applyNetworks(to config: inout ContainerConfig, rootless: Bool) throws(BerthError) {
    let special = networks.filter {
      ["none", "host", "private"].contains($0) || $0.hasPrefix("container:") || $0.hasPrefix("ns:")
        || $0 == "pasta" || $0.hasPrefix("pasta:") || $0.hasPrefix("slirp4netns")
    }
    if !special.isEmpty {
      guard networks.count == 1 else {
        throw BerthError(
          .invalidArgument, "--network \(special[0]) cannot be combined with other networks")
      }
      var mode = special[0]
      if mode == "private" { mode = rootless ? "pasta" : "bridge" }
      if (mode == "pasta" || mode == "slirp4netns") && !rootless {
        throw BerthError(
          .unsupported, "--network \(mode) is for rootless containers",
          hint: "as root, use bridge networks")
      }
      guard !(mode.hasPrefix("pasta:") || mode.hasPrefix("slirp4netns:")) else {
        throw BerthError(
          .unsupported, "--network \(mode) is not supported yet",
          hint: "rootless containers have --network pasta (the default), none or host")
      }
      config.network = mode
      if mode == "pasta" || mode == "slirp4netns" {
        guard ip == nil, ip6 == nil, mac == nil, aliases.isEmpty else {
          throw BerthError(
            .invalidArgument, "--ip, --ip6, --mac-address and --network-alias need a bridge network"
          )
        }
      } else if mode != "bridge" {
        guard ports.isEmpty && !publishAll else {
          throw BerthError(
            .invalidArgument, "ports cannot be published with --network \(mode)",
            hint: "publishing needs a bridge network")
        }
        guard ip == nil, ip6 == nil, mac == nil, aliases.isEmpty else {
          throw BerthError(
            .invalidArgument,
            "--ip, --ip6, --mac-address and --network-alias need a bridge network")
        }
        return
      }
    }
    var requests: [NetworkRequest] = []
    let names = networks.isEmpty || config.network == "bridge" ? ["bridge"] : networks
    if networks.isEmpty && rootless || config.network == "pasta"
      || config.network == "slirp4netns"
    {
      // Rootless: pasta, podman's default, else slirp4netns, else none.
      if config.network == "pasta" && Engine.pastaPath() == nil {
        throw BerthError(
          .notFound, "--network pasta needs pasta", hint: "install Debian's passt package")
      }
      if config.network == "slirp4netns" && Engine.slirpPath() == nil {
        throw BerthError(
          .notFound, "--network slirp4netns needs slirp4netns",
          hint: "install Debian's slirp4netns package")
      }
      if networks.isEmpty {
        config.network =
          Engine.pastaPath() != nil ? "pasta" : Engine.slirpPath() != nil ? "slirp4netns" : "none"
      }
      guard config.network != "none" || ports.isEmpty && !publishAll else {
        throw BerthError(
          .unsupported, "publishing ports rootless needs pasta or slirp4netns",
          hint: "install Debian's passt")
      }
      guard ip == nil && ip6 == nil && mac == nil && aliases.isEmpty else {
        throw BerthError(
          .unsupported, "rootless containers cannot take addresses or aliases yet",
          hint: "run as root for bridge networks")
      }
      var parsed: [PortRequest] = []
      for text in ports { parsed += try PortRequest.parse(text) }
      config.ports = parsed.isEmpty ? nil : parsed
      config.publishAll = publishAll ? true : nil
      return
    }
    for text in names {
      let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
      let name = parts.first.map { $0 == "bridge" ? Engine.defaultNetwork : $0 } ?? ""
      guard !name.isEmpty else { throw BerthError(.invalidArgument, "empty --network name") }
      if requests.contains(where: { $0.name == name }) {
        throw BerthError(.invalidArgument, "network \(name) is given twice")
      }
      var request = NetworkRequest(name: name)
      if parts.count == 2 {
        for option in parts[1].split(separator: ",") {
          let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
          guard pair.count == 2 else {
            throw BerthError(.invalidArgument, "invalid network option \"\(option)\"")
          }
          switch pair[0] {
          case "alias": request.aliases.append(pair[1])
          case "ip": request.ipv4 = pair[1]
          case "ip6": request.ipv6 = pair[1]
          case "mac": request.mac = pair[1]
          default:
            throw BerthError(
              .invalidArgument, "invalid network option \"\(pair[0])\"",
              hint: "use alias=, ip=, ip6= or mac=")
          }
        }
      }
      requests.append(request)
    }
    requests[0].aliases += aliases
    if let ip { requests[0].ipv4 = ip }
    if let ip6 { requests[0].ipv6 = ip6 }
    if let mac { requests[0].mac = mac }
    for request in requests {
      if let value = request.ipv4, IPAddress(value)?.isIPv4 != true {
        throw BerthError(.invalidArgument, "invalid IPv4 address \"\(value)\"")
      }
      if let value = request.ipv6, IPAddress(value)?.isIPv4 != false {
        throw BerthError(.invalidArgument, "invalid IPv6 address \"\(value)\"")
      }
      if let value = request.mac { _ = try MACAddress.validate(value) }
      for alias in request.aliases where !ContainerNames.isValid(alias) {
        throw BerthError(.invalidArgument, "invalid network alias \"\(alias)\"")
      }
    }
    config.network = "bridge"
    config.networks = requests
    var parsed: [PortRequest] = []
    for text in ports { parsed += try PortRequest.parse(text) }
    if rootless, let port = parsed.first(where: { $0.protocol != "tcp" && $0.protocol != "udp" }) {
      throw Engine.rootlessBridgeTCPOrUDP(port.containerPort, port.protocol)
    }
    config.ports = parsed.isEmpty ? nil : parsed
    config.publishAll = publishAll ? true : nil
  }
}
