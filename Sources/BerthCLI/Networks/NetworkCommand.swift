import ArgumentParser
import BerthEngine
import BerthSystem
import Foundation

struct NetworkCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "network", abstract: "Manage networks.",
    subcommands: [
      NetworkCreate.self, NetworkList.self, NetworkInspect.self, NetworkRemove.self,
      NetworkPrune.self, NetworkConnect.self, NetworkDisconnect.self, NetworkExists.self,
    ])
}

/// podman's `network inspect` shape.
struct InspectedNetwork: Encodable {
  struct SubnetOut: Encodable {
    var subnet: String
    var gateway: String
    var leaseRange: LeaseRange?
    enum CodingKeys: String, CodingKey {
      case subnet, gateway
      case leaseRange = "lease_range"
    }
  }
  struct LeaseRange: Encodable {
    var startIP: String
    var endIP: String
    enum CodingKeys: String, CodingKey {
      case startIP = "start_ip"
      case endIP = "end_ip"
    }
  }
  var name: String
  var id: String
  var driver: String
  var networkInterface: String
  var created: String
  var subnets: [SubnetOut]
  var ipv6Enabled: Bool
  var `internal`: Bool
  var dnsEnabled: Bool
  var labels: [String: String]?
  var options: [String: String]?
  var ipamOptions: [String: String]

  enum CodingKeys: String, CodingKey {
    case name, id, driver, created, subnets, `internal`, labels, options
    case networkInterface = "network_interface"
    case ipv6Enabled = "ipv6_enabled"
    case dnsEnabled = "dns_enabled"
    case ipamOptions = "ipam_options"
  }

  init(_ network: Network) {
    name = network.name
    id = network.id
    driver = network.driver
    networkInterface = network.interface
    created = network.created
    subnets = network.subnetList.map { subnet in
      var range: LeaseRange? = nil
      if let text = subnet.leaseRange, let pool = try? Subnet(parsing: text),
        let first = pool.address(at: 0), let last = pool.address(at: pool.usableCount + 1)
      {
        range = LeaseRange(startIP: "\(first)", endIP: "\(last)")
      }
      return SubnetOut(subnet: subnet.subnet, gateway: subnet.gateway, leaseRange: range)
    }
    ipv6Enabled = network.ipv6
    self.internal = network.isInternal
    dnsEnabled = network.dns
    labels = network.labelMap.isEmpty ? nil : network.labelMap
    options = network.optionMap.isEmpty ? nil : network.optionMap
    ipamOptions = ["driver": "host-local"]
  }
}

/// A network's fields by podman's Go names, for --format templates.
func templateRow(_ network: Network) -> [String: String] {
  [
    "ID": network.id, "Name": network.name, "Driver": network.driver,
    "Created": network.created, "Internal": "\(network.isInternal)",
    "IPv6Enabled": "\(network.ipv6)", "DNSEnabled": "\(network.dns)",
    "NetworkInterface": network.interface,
    "Subnets": network.subnetList.map(\.subnet).joined(separator: ","),
    "Labels": network.labelMap.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","),
  ]
}

struct NetworkCreate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create", abstract: "Create a bridge network.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Driver (bridge).") var driver = "bridge"
  @Option(help: "Subnet in CIDR form (repeatable: one IPv4, one IPv6).") var subnet: [String] = []
  @Option(help: "Gateway of the subnet given in the same position.") var gateway: [String] = []
  @Option(name: .customLong("ip-range"), help: "Lease addresses from this CIDR only.")
  var ipRange: [String] = []
  @Flag(help: "No route out of the network.") var `internal` = false
  @Flag(help: "Dual stack: an IPv6 subnet too.") var ipv6 = false
  @Option(help: "Label KEY=VALUE.") var label: [String] = []
  @Option(name: .shortAndLong, help: "Driver option: mtu=.") var opt: [String] = []
  @Flag(help: "Succeed if the network exists.") var ignore = false
  @Argument(help: "Name (random when omitted).") var name: String?

  func run() throws {
    var request = NetworkCreateRequest(name: name ?? "berth\(Int.random(in: 1...999_999))")
    request.driver = driver
    request.subnets = subnet
    request.gateways = gateway
    request.ipRanges = ipRange
    request.isInternal = self.internal
    request.ipv6 = ipv6 || subnet.contains { $0.contains(":") }
    request.labels = try keyValues(label, what: "label")
    request.options = try keyValues(opt, what: "option")
    request.ignoreExisting = ignore
    print(try global.engine().createNetwork(request).name)
  }
}

struct NetworkList: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls", abstract: "List networks.", aliases: ["list"])
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Print only names.") var quiet = false
  @Flag(name: .customLong("no-trunc"), help: "Full ids.") var noTrunc = false
  @Option(help: "table (default), json or a Go template.") var format = "table"
  @Option(name: .shortAndLong, help: "Filter: name=, id=, label=, driver=.") var filter: [String] =
    []

  func run() throws {
    let engine = try global.engine()
    var networks = try engine.networks()
    // As root the default network is listed before its first use, as podman's.
    if !networks.contains(where: { $0.name == Engine.defaultNetwork }), geteuid() == 0 {
      networks.append(try engine.network(Engine.defaultNetwork))
      networks.sort { $0.name < $1.name }
    }
    for item in filter {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else {
        throw BerthError(.invalidArgument, "invalid filter \"\(item)\"")
      }
      switch parts[0] {
      case "name": networks = networks.filter { $0.name.contains(parts[1]) }
      case "id": networks = networks.filter { $0.id.hasPrefix(parts[1]) }
      case "driver": networks = networks.filter { $0.driver == parts[1] }
      case "label": networks = networks.filter { $0.labelMap.satisfies(labelFilter: parts[1]) }
      default:
        throw BerthError(
          .invalidArgument, "invalid filter \"\(item)\"", hint: "use name=, id=, driver= or label=")
      }
    }
    if quiet {
      for network in networks { print(network.name) }
      return
    }
    if format == "json" {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      print(
        String(decoding: try encoder.encode(networks.map(InspectedNetwork.init)), as: UTF8.self))
      return
    }
    let rows = networks.map {
      var row = templateRow($0)
      if !noTrunc { row["ID"] = String($0.id.prefix(12)) }
      return row
    }
    try printTemplate(
      format == "table" ? "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}" : format, rows,
      headers: ["ID": "NETWORK ID"])
  }
}

struct NetworkInspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Show details of networks.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Go template; JSON by default.") var format: String?
  @Argument(help: "Networks.") var names: [String]

  func run() throws {
    let engine = try global.engine()
    let networks = try names.map { try engine.network($0) }
    // JSON in podman's snake_case; templates by Go field name, as podman's.
    if let format, format != "json" {
      return try printTemplate(format, networks.map(templateRow))
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(networks.map(InspectedNetwork.init)), as: UTF8.self))
  }
}

struct NetworkRemove: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rm", abstract: "Remove networks.", aliases: ["remove"])
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Remove the containers using them first.") var force = false
  @Argument(help: "Networks.") var names: [String]

  func run() throws {
    let engine = try global.engine()
    try forEach(names) { name in print(try engine.removeNetwork(name, force: force).name) }
  }
}

struct NetworkPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove networks no container uses.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Do not ask (berth never asks).") var force = false

  func run() throws {
    for name in try global.engine().pruneNetworks() { print(name) }
  }
}

struct NetworkConnect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "connect", abstract: "Connect a container to a network.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "DNS alias.") var alias: [String] = []
  @Option(help: "IPv4 address.") var ip: String?
  @Option(help: "IPv6 address.") var ip6: String?
  @Option(name: .customLong("mac-address"), help: "MAC address.") var macAddress: String?
  @Argument(help: "Network.") var network: String
  @Argument(help: "Container.") var container: String

  func run() throws {
    var request = NetworkRequest(name: network)
    request.aliases = alias
    request.ipv4 = ip
    request.ipv6 = ip6
    request.mac = macAddress
    try global.engine().connect(network, container: container, request: request)
  }
}

struct NetworkDisconnect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "disconnect", abstract: "Disconnect a container from a network.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Accepted for podman compatibility.") var force = false
  @Argument(help: "Network.") var network: String
  @Argument(help: "Container.") var container: String

  func run() throws {
    try global.engine().disconnect(network, container: container)
  }
}

struct NetworkExists: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exists", abstract: "Exit 0 if the network exists, 1 if not.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Network.") var name: String

  func run() throws {
    if (try? global.engine().network(name)) == nil { throw ExitCode(1) }
  }
}

struct ContainerCleanup: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cleanup",
    abstract: "Undo a stopped container's network setup (its monitor runs this).",
    shouldDisplay: false)
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Container id.") var id: String

  func run() throws {
    try global.engine().cleanUpContainer(id)
  }
}
