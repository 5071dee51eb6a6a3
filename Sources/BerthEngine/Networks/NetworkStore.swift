// Networks as records: create (subnets checked against each other and the
// host's routes), list, inspect, remove, prune. A network's bridge and
// firewall rules exist from its first container to its removal, as
// docker's docker0 does: the common `run` path then makes only its own
// veth pair, no bridge and no rule.
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc
import SystemPackage

public struct NetworkCreateRequest: Sendable {
  public var name: String
  public var driver = "bridge"
  public var subnets: [String] = []
  public var gateways: [String] = []
  public var ipRanges: [String] = []
  public var isInternal = false
  public var ipv6 = false
  public var labels: [String: String] = [:]
  public var options: [String: String] = [:]
  public var ignoreExisting = false

  public init(name: String) { self.name = name }
}

extension Engine {
  public static let defaultNetwork = "berth"
  var networksRunRoot: String { runRoot + "/networks" }

  public func networks() throws(BerthError) -> [Network] {
    try database.read { db in try Network.order(Column("name")).fetchAll(db) }
  }

  public func network(_ reference: String) throws(BerthError) -> Network {
    let found = try database.read { db -> Network? in
      if let byName = try Network.fetchOne(db, key: reference) { return byName }
      guard reference.count >= 3, reference.allSatisfy(\.isHexDigit) else { return nil }
      let matches = try Network.filter(Column("id").like(reference.lowercased() + "%")).limit(2)
        .fetchAll(db)
      return matches.count == 1 ? matches[0] : nil
    }
    if let found { return found }
    if reference == Self.defaultNetwork { return try ensureDefaultNetwork() }
    throw BerthError(
      .notFound, "unable to find network with name or ID \(reference): network not found",
      hint: "`berth network ls` lists them")
  }

  /// The default network, made on first use on a free private subnet.
  func ensureDefaultNetwork() throws(BerthError) -> Network {
    if let existing = try database.read({ db in try Network.fetchOne(db, key: Self.defaultNetwork) }
    ) {
      return existing
    }
    var request = NetworkCreateRequest(name: Self.defaultNetwork)
    request.ignoreExisting = true
    return try createNetwork(request)
  }

  public func createNetwork(_ request: NetworkCreateRequest) throws(BerthError) -> Network {
    guard ContainerNames.isValid(request.name), request.name.count <= 200 else {
      throw BerthError(
        .invalidArgument, "invalid network name \"\(request.name)\"",
        hint: "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    }
    guard request.driver == "bridge" else {
      throw BerthError(
        .unsupported, "unsupported network driver \"\(request.driver)\"", hint: "use bridge")
    }
    for key in request.options.keys where !["mtu", "com.docker.network.driver.mtu"].contains(key) {
      throw BerthError(.invalidArgument, "unsupported network option \"\(key)\"", hint: "use mtu=")
    }
    var options = request.options
    if let mtu = options.removeValue(forKey: "com.docker.network.driver.mtu") {
      options["mtu"] = mtu
    }
    if let mtu = options["mtu"], UInt32(mtu).map({ $0 >= 68 && $0 <= 65535 }) != true {
      throw BerthError(.invalidArgument, "invalid mtu \"\(mtu)\"", hint: "use 68-65535")
    }
    let lock = try ObjectLock(locksRoot + "/networks", what: "the networks")
    defer { withExtendedLifetime(lock) {} }
    if let existing = try database.read({ db in try Network.fetchOne(db, key: request.name) }) {
      if request.ignoreExisting { return existing }
      throw BerthError(
        .alreadyExists, "network name \(request.name) already used: network already exists")
    }
    let others = try networks()
    let taken = others.flatMap { $0.subnetList.compactMap { try? Subnet(parsing: $0.subnet) } }
    let routes = HostRoutes.current()
    var subnets: [NetworkSubnet] = []
    for (index, text) in request.subnets.enumerated() {
      let subnet = try Subnet(parsing: text)
      guard subnet.usableCount >= 1 else {
        throw BerthError(.invalidArgument, "subnet \(text) is too small for containers")
      }
      if let other = others.first(where: {
        $0.subnetList.contains { (try? Subnet(parsing: $0.subnet))?.overlaps(subnet) == true }
      }) {
        throw BerthError(
          .alreadyExists, "subnet \(text) is already used by network \(other.name)",
          hint: "choose another --subnet")
      }
      if let route = routes.first(where: { $0.overlaps(subnet) }) {
        throw BerthError(
          .alreadyExists, "subnet \(text) overlaps the host's route to \(route)",
          hint: "choose another --subnet")
      }
      var gateway = subnet.address(at: 1)
      if index < request.gateways.count {
        guard let given = IPAddress(request.gateways[index]), subnet.contains(given),
          given != subnet.address
        else {
          throw BerthError(
            .invalidArgument,
            "gateway \(request.gateways[index]) is not an address in subnet \(text)")
        }
        gateway = given
      }
      var range: String? = nil
      if index < request.ipRanges.count {
        let ipRange = try Subnet(parsing: request.ipRanges[index])
        guard subnet.overlaps(ipRange), ipRange.prefix >= subnet.prefix else {
          throw BerthError(
            .invalidArgument, "ip range \(request.ipRanges[index]) is not inside subnet \(text)")
        }
        range = ipRange.description
      }
      // Stored as printed from the parsed bytes: the text goes into nft
      // scripts and comparisons, so only its canonical form may.
      subnets.append(
        NetworkSubnet(subnet: "\(subnet)", gateway: "\(gateway!)", leaseRange: range))
    }
    if request.gateways.count > request.subnets.count || request.ipRanges.count > subnets.count {
      throw BerthError(
        .invalidArgument, "--gateway and --ip-range need a --subnet each",
        hint: "give --subnet first")
    }
    if !subnets.contains(where: { !$0.isIPv6 }) {
      let free = try Self.freeSubnet(
        request.name == Self.defaultNetwork ? (10, 90, 16) : (10, 91, 24),
        taken: taken + routes)
      subnets.insert(NetworkSubnet(subnet: "\(free)", gateway: "\(free.address(at: 1)!)"), at: 0)
    }
    if request.ipv6 && !subnets.contains(where: \.isIPv6) {
      // A unique local /64 (RFC 4193): fd, then 40 random bits.
      var bytes = [UInt8](repeating: 0, count: 16)
      bytes[0] = 0xfd
      for i in 1..<6 { bytes[i] = UInt8.random(in: 0...255) }
      let subnet = Subnet(address: IPAddress(bytes: bytes), prefix: 64)
      subnets.append(
        NetworkSubnet(subnet: "\(subnet)", gateway: "\(subnet.address(at: 1)!)"))
    }
    let interface = try freeBridgeName(
      others, preferred: request.name == Self.defaultNetwork ? "berth0" : nil)
    let network = Network(
      name: request.name, id: ContainerNames.randomID(), driver: "bridge",
      interface: interface, created: rfc3339Now(), subnets: try encodeJSON(subnets),
      isInternal: request.isInternal, dns: request.name != Self.defaultNetwork,
      labels: try encodeJSON(request.labels), options: try encodeJSON(options))
    try database.write { db in
      try network.insert(db)
      try EventLog.record(
        db, type: "network", action: "create", id: network.id, name: network.name,
        attributes: [:])
    }
    return network
  }

  /// The first /size from a.b.0.0 upward (10.90.0.0/16, 10.91.0.0/24,
  /// 10.91.1.0/24, ... 10.92.0.0/24, ...) that no network and no host route
  /// uses. The /24s go on past a.b: a default network pushed off 10.90/16
  /// (a host route there) takes 10.91/16, and new networks must not then
  /// find nothing free.
  static func freeSubnet(_ start: (UInt8, UInt8, Int), taken: [Subnet]) throws(BerthError)
    -> Subnet
  {
    let (a, b, prefix) = start
    for second in Int(b)...255 {
      let candidates: [Subnet] =
        prefix == 16
        ? [Subnet(address: IPAddress(bytes: [a, UInt8(second), 0, 0]), prefix: 16)]
        : (0...255).map {
          Subnet(address: IPAddress(bytes: [a, UInt8(second), UInt8($0), 0]), prefix: 24)
        }
      for candidate in candidates where !taken.contains(where: { $0.overlaps(candidate) }) {
        return candidate
      }
    }
    throw BerthError(
      .alreadyExists, "no free subnet is left for a new network", hint: "give one with --subnet")
  }

  /// A bridge name no network of this store uses and no interface of the
  /// host has: another store's (another --root's) berth0 is not ours to
  /// add addresses to. (Rootless bridges live in the network host, so the
  /// host's names only narrow the choice.)
  func freeBridgeName(_ networks: [Network], preferred: String?) throws(BerthError) -> String {
    let used = Set(networks.map(\.interface))
    func free(_ name: String) -> Bool { !used.contains(name) && if_nametoindex(name) == 0 }
    if let preferred, free(preferred) { return preferred }
    for n in 1..<10000 where free("berth\(n)") { return "berth\(n)" }
    throw BerthError(.alreadyExists, "no free bridge name is left")
  }

  /// Containers with a lease on the network.
  public func containers(on network: Network) throws(BerthError) -> [String] {
    try database.read { db in
      try String.fetchAll(
        db, sql: "SELECT container FROM attachment WHERE network = ?", arguments: [network.name])
    }
  }

  /// Removes a network; one containers use only with `force`, which
  /// removes those containers first (podman's rule).
  public func removeNetwork(_ reference: String, force: Bool) throws(BerthError) -> Network {
    let network = try self.network(reference)
    if network.name == Self.defaultNetwork && !force {
      throw BerthError(
        .invalidState, "default network \(network.name) cannot be removed",
        hint: "it is made again on first use; --force removes it and its containers")
    }
    let users = try containers(on: network)
    if !users.isEmpty {
      guard force else {
        throw BerthError(
          .invalidState,
          "network \(network.name) is used by \(users.count) container(s)",
          hint: "remove them first, or use --force")
      }
      for id in users { _ = try removeContainer(id, force: true, volumes: false) }
    }
    let lock = try ObjectLock(locksRoot + "/networks", what: "the networks")
    defer { withExtendedLifetime(lock) {} }
    try tearDownBridge(network)
    try database.write { db in
      _ = try Network.deleteOne(db, key: network.name)
      try db.execute(sql: "DELETE FROM lease_cursor WHERE network = ?", arguments: [network.name])
      try EventLog.record(
        db, type: "network", action: "remove", id: network.id, name: network.name,
        attributes: [:])
    }
    if !rootless, !(try networks().contains { isBridgeUp($0) }) {
      Firewall.removeNetwork(network, last: true)
    }
    return network
  }

  /// Networks no container uses (the default network stays, as podman's).
  public func pruneNetworks() throws(BerthError) -> [String] {
    sweepTrash()  // a namespace a killed --rm monitor left, with its veths
    var removed: [String] = []
    for network in try networks() where network.name != Self.defaultNetwork {
      if try containers(on: network).isEmpty {
        _ = try removeNetwork(network.name, force: false)
        removed.append(network.name)
      }
    }
    return removed
  }

  func isBridgeUp(_ network: Network) -> Bool {
    fileExists(networksRunRoot + "/" + network.name + "/ready")
  }

  /// The bridge, its addresses and firewall rules: made once (the `ready`
  /// file, on the run root's tmpfs, says so; a reboot clears both). A
  /// bridge deleted behind berth's back (`ip link del`) is made again.
  func ensureBridge(_ network: Network) throws(BerthError) {
    let directory = networksRunRoot + "/" + network.name
    // In the rootless network host sysfs still shows the host's links, so
    // this is false there and the set-up below (idempotent) runs again; the
    // CLI only asks the host when the mark is missing.
    func ready() -> Bool {
      fileExists(directory + "/ready") && fileExists("/sys/class/net/" + network.interface)
    }
    if ready() { return }
    let lock = try ObjectLock(locksRoot + "/networks", what: "the networks")
    defer { withExtendedLifetime(lock) {} }
    if ready() { return }
    try mkdirAll(directory, mode: 0o700)
    let netlink = try RouteNetlink()
    if try netlink.linkIndex(network.interface) == nil {
      do {
        try netlink.createBridge(network.interface, mtu: network.mtu)
      } catch  where error.cause == .fileExists {}
    }
    guard let index = try netlink.linkIndex(network.interface) else {
      throw BerthError(.system, "the bridge \(network.interface) vanished while it was set up")
    }
    for subnet in network.subnetList {
      guard let gateway = IPAddress(subnet.gateway) else { continue }
      try netlink.addAddress(
        gateway.bytes, prefix: UInt8(subnet.prefixLength), link: index, what: network.interface)
    }
    try netlink.setUp(index, what: network.interface)
    if !network.isInternal {
      // Forwarding, and published ports reachable on 127.0.0.1 (DNAT from
      // the loopback address needs route_localnet on the way out).
      try writeSysctl("net/ipv4/ip_forward", "1")
      try writeSysctl("net/ipv4/conf/\(network.interface)/route_localnet", "1")
      if network.ipv6 { try writeSysctl("net/ipv6/conf/all/forwarding", "1") }
    }
    try Firewall.addNetwork(network)
    try writeFileAtomically(directory + "/ready", [], mode: 0o600, durable: false)
  }

  func tearDownBridge(_ network: Network) throws(BerthError) {
    if rootless { return tearDownRootlessBridge(network) }
    let directory = networksRunRoot + "/" + network.name
    stopDNS(network)
    if let netlink = try? RouteNetlink(), let index = try? netlink.linkIndex(network.interface) {
      try? netlink.deleteLink(index, what: "the bridge \(network.interface)")
    }
    if fileExists(directory + "/ready") { Firewall.removeNetwork(network, last: false) }
    try? removeTree(directory)
  }

  func writeSysctl(_ key: String, _ value: String) throws(BerthError) {
    let path = "/proc/sys/" + key
    if let current = try? readFile(path), String(decoding: current, as: UTF8.self).hasPrefix(value)
    {
      return
    }
    let fd = try check("cannot open \(path)") { open(path, O_WRONLY | O_CLOEXEC) }
    defer { close(fd) }
    try FileDescriptor(rawValue: fd).writeFully(value, what: "cannot set \(key)")
  }
}

/// The host's IPv4 and IPv6 routes (default routes aside), from /proc.
enum HostRoutes {
  static func current() -> [Subnet] {
    var routes: [Subnet] = []
    if let text = try? readFile("/proc/net/route") {
      for line in String(decoding: text, as: UTF8.self).split(separator: "\n").dropFirst() {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16),
          let mask = UInt32(fields[7], radix: 16), mask != 0
        else { continue }
        // Little-endian hex, as the kernel prints the u32 of network order.
        let bytes = withUnsafeBytes(of: destination.littleEndian) { Array($0) }
        routes.append(Subnet(address: IPAddress(bytes: bytes), prefix: mask.nonzeroBitCount))
      }
    }
    if let text = try? readFile("/proc/net/ipv6_route") {
      for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count >= 10, fields[0].count == 32, let prefix = Int(fields[1], radix: 16),
          prefix > 0, prefix < 128, fields[9] != "lo"
        else { continue }
        var bytes: [UInt8] = []
        var hex = Substring(fields[0])
        while !hex.isEmpty {
          bytes.append(UInt8(hex.prefix(2), radix: 16) ?? 0)
          hex = hex.dropFirst(2)
        }
        // fe80::/64 and multicast are on every link: not a collision.
        if bytes[0] == 0xfe || bytes[0] == 0xff { continue }
        routes.append(Subnet(address: IPAddress(bytes: bytes), prefix: prefix))
      }
    }
    return routes
  }
}
