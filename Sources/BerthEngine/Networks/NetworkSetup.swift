// A rootful container on bridge networks: its leases, its network
// namespace (a bind-mounted nsfs file, made before the container, joined by
// it, kept across restarts), one veth pair per network with the peer made
// straight inside that namespace, addresses and the default route, then
// published ports and DNS names. All of it through netlink and libnftables
// in this process: no `ip`, no `nft`, no helper process.
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc

/// What a started container got: for /etc/hosts, resolv.conf and inspect.
struct NetworkState {
  var namespace: String
  var attachments: [(network: Network, attachment: Attachment)]
  var published: [PublishedPort]
  /// Something only the engine can undo when the container ends.
  var needsCleanup: Bool
}

extension Engine {
  public func networkNamespacePath(_ id: String) -> String { runRoot + "/netns/" + id }

  func setUpNetworks(_ container: Container, _ config: ContainerConfig, exposed: [String])
    throws(BerthError) -> NetworkState
  {
    let requests = config.networks ?? [NetworkRequest(name: Self.defaultNetwork)]
    var networks: [Network] = []
    for request in requests {
      let network = try self.network(request.name)
      try ensureBridge(network)
      networks.append(network)
    }
    Trace.mark("start: bridges ready")
    let attachments = try lease(container, requests: requests, networks: networks)
    Trace.mark("start: leased")
    let path = networkNamespacePath(container.id)
    // What a crashed earlier start may have left.
    NetworkNamespace.removeInterfaces(
      attachments.map { Self.hostVethName(container.id, $0.ordinal) })
    NetworkNamespace.remove(at: path)
    try mkdirAll(runRoot + "/netns", mode: 0o755)
    try NetworkNamespace.create(at: path)
    var state = NetworkState(
      namespace: path, attachments: Array(zip(networks, attachments)), published: [],
      needsCleanup: false)
    do {
      try wire(container, state)
      Trace.mark("start: wired")
      state.published = try publish(container, config, exposed: exposed, state)
      try addNames(container, state)
      state.needsCleanup = !state.published.isEmpty || networks.contains { $0.dns }
    } catch {
      tearDownNetworks(container.id, release: false)
      throw error
    }
    return state
  }

  /// Each network's lease for the container: kept from an earlier start,
  /// else the asked-for or the first free address of the subnet.
  func lease(_ container: Container, requests: [NetworkRequest], networks: [Network])
    throws(BerthError) -> [Attachment]
  {
    try database.writeImmediately { db in
      var result: [Attachment] = []
      for (ordinal, (request, network)) in zip(requests, networks).enumerated() {
        if let existing = try Attachment.fetchOne(
          db, key: ["container": container.id, "network": network.name])
        {
          result.append(existing)
          continue
        }
        var attachment = Attachment(
          container: container.id, network: network.name, ordinal: ordinal,
          mac: try request.mac.map(MACAddress.validate) ?? MACAddress.random(),
          ipv4: nil, ipv6: nil, aliases: try encodeJSON(request.aliases))
        for subnet in network.subnetList {
          let v6 = subnet.isIPv6
          let used = Set(
            try String.fetchAll(
              db, sql: "SELECT \(v6 ? "ipv6" : "ipv4") FROM attachment WHERE network = ?",
              arguments: [network.name]))
          let wanted = v6 ? request.ipv6 : request.ipv4
          let cursor = try String.fetchOne(
            db, sql: "SELECT address FROM lease_cursor WHERE network = ? AND v6 = ?",
            arguments: [network.name, v6])
          let address = try Self.allocate(
            subnet, used: used, wanted: wanted, network: network.name, after: cursor)
          if wanted == nil {
            try db.execute(
              sql: "INSERT OR REPLACE INTO lease_cursor (network, v6, address) VALUES (?, ?, ?)",
              arguments: [network.name, v6, address])
          }
          if v6 { attachment.ipv6 = address } else { attachment.ipv4 = address }
        }
        try attachment.insert(db)
        result.append(attachment)
      }
      return result
    }
  }

  /// The asked-for address, or the first free one after `after` (the last
  /// given out), wrapping around the pool.
  static func allocate(
    _ subnet: NetworkSubnet, used: Set<String>, wanted: String?, network: String,
    after: String? = nil
  ) throws(BerthError) -> String {
    let range = try Subnet(parsing: subnet.subnet)
    if let wanted {
      guard let address = IPAddress(wanted), range.contains(address) else {
        throw BerthError(
          .invalidArgument, "address \(wanted) is not in network \(network)'s subnet \(range)")
      }
      guard !used.contains("\(address)"), "\(address)" != subnet.gateway else {
        throw BerthError(
          .alreadyExists, "address \(wanted) is already in use on network \(network)")
      }
      return "\(address)"
    }
    let pool =
      try subnet.leaseRange.map { (text) throws(BerthError) in try Subnet(parsing: text) }
      ?? range
    let last = pool.usableCount + 2
    let first: UInt64 = pool == range ? 2 : 0
    let start =
      after.flatMap(IPAddress.init).flatMap { pool.offset(of: $0) }
      .map { min(max($0 + 1, first), last) } ?? first
    // A set of the used ones: one pass however full the subnet is.
    for part in [start..<last, first..<start] {
      for offset in part {
        guard let candidate = pool.address(at: offset) else { break }
        let text = "\(candidate)"
        if used.contains(text) || text == subnet.gateway || candidate == range.address { continue }
        if range.isIPv4, range.address(at: (UInt64(1) << (32 - range.prefix)) - 1) == candidate {
          continue  // broadcast
        }
        return text
      }
    }
    throw BerthError(
      .alreadyExists, "network \(network) has no free address left in \(pool)",
      hint: "remove containers from it or use a larger subnet")
  }

  /// The veth pairs, addresses, loopback and default route.
  func wire(_ container: Container, _ state: NetworkState) throws(BerthError) {
    let host = try RouteNetlink()
    let namespaceFD = try check("cannot open \(state.namespace)") {
      open(state.namespace, O_RDONLY | O_CLOEXEC)
    }
    defer { close(namespaceFD) }
    for (network, attachment) in state.attachments {
      let name = Self.hostVethName(container.id, attachment.ordinal)
      try host.plugVeth(
        name, into: network.interface, peer: attachment.interfaceName,
        peerNamespace: namespaceFD, mtu: network.mtu, peerMAC: MACAddress.bytes(attachment.mac))
    }
    let inside = try RouteNetlink(namespace: state.namespace)
    let settings = Self.containerSide(state.attachments)
    try inside.configureContainerSide(settings.interfaces, defaultRoutes: settings.routes)
  }

  /// What the container's side of its networks gets: each interface's
  /// addresses, and a default route per family from the first network that
  /// is not internal (internal networks get no route out).
  static func containerSide(_ attachments: [(network: Network, attachment: Attachment)])
    -> (interfaces: [InterfaceSettings], routes: [[UInt8]])
  {
    var interfaces: [InterfaceSettings] = []
    var routes: [[UInt8]] = []
    var routed = (v4: false, v6: false)
    for (network, attachment) in attachments {
      var addresses: [InterfaceSettings.AddressPrefix] = []
      for subnet in network.subnetList {
        guard let text = subnet.isIPv6 ? attachment.ipv6 : attachment.ipv4,
          let address = IPAddress(text)
        else { continue }
        addresses.append(.init(bytes: address.bytes, prefix: UInt8(subnet.prefixLength)))
      }
      interfaces.append(InterfaceSettings(name: attachment.interfaceName, addresses: addresses))
      guard !network.isInternal else { continue }
      for subnet in network.subnetList {
        let v6 = subnet.isIPv6
        if v6 ? routed.v6 : routed.v4 { continue }
        guard let gateway = IPAddress(subnet.gateway) else { continue }
        routes.append(gateway.bytes)
        if v6 { routed.v6 = true } else { routed.v4 = true }
      }
    }
    return (interfaces, routes)
  }

  /// The host end of a container's veth: "bv", 10 id digits, the ordinal.
  static func hostVethName(_ id: String, _ ordinal: Int) -> String {
    "bv" + id.prefix(10) + "\(ordinal)"
  }

  // MARK: Ports

  func publish(
    _ container: Container, _ config: ContainerConfig, exposed: [String], _ state: NetworkState
  )
    throws(BerthError) -> [PublishedPort]
  {
    let requests = PortRequest.requested(config, exposed: exposed)
    guard !requests.isEmpty else { return [] }
    guard let target = state.attachments.first(where: { !$0.network.isInternal }) else {
      throw BerthError(
        .invalidArgument, "ports cannot be published from internal networks only",
        hint: "add a non-internal --network")
    }
    let published = try claimPorts(container, requests)
    var elements: [(PublishedPort, IPAddress)] = []
    for port in published {
      let hostV6 = port.hostIP.contains(":")
      if let text = target.attachment.ipv4, let address = IPAddress(text), !hostV6 {
        elements.append((port, address))
      }
      if let text = target.attachment.ipv6, let address = IPAddress(text),
        port.hostIP.isEmpty || hostV6
      {
        elements.append((port, address))
      }
    }
    try Firewall.publish(elements)
    return published
  }

  /// Records the container's host ports (free ones chosen for port 0),
  /// refusing ports another running container or a host process holds.
  func claimPorts(_ container: Container, _ requests: [PortRequest]) throws(BerthError)
    -> [PublishedPort]
  {
    try database.writeImmediately { db -> [PublishedPort] in
      var rows: [PublishedPort] = []
      for request in requests {
        var port = PublishedPort(
          container: container.id, protocol: request.protocol, hostIP: request.hostIP,
          hostPort: request.hostPort, containerPort: request.containerPort)
        if port.hostPort == 0 {
          port.hostPort = try freeHostPort(db, port)
        } else {
          try claim(db, port)
        }
        try port.insert(db)
        rows.append(port)
      }
      return rows
    }
  }

  /// Refuses a host port another running container publishes or a host
  /// process holds; a stopped container's leftover claim is dropped.
  func claim(_ db: Database, _ port: PublishedPort) throws {
    let rows = try PublishedPort.filter(
      Column("protocol") == port.protocol && Column("hostPort") == port.hostPort
    ).fetchAll(db)
    for row in rows where row.hostIP.isEmpty || port.hostIP.isEmpty || row.hostIP == port.hostIP {
      let state = try String.fetchOne(
        db, sql: "SELECT state FROM container WHERE id = ?", arguments: [row.container])
      if row.container != port.container && (state == "running" || state == "paused") {
        throw BerthError(
          .alreadyExists,
          "port \(port.hostPort)/\(port.protocol) is already published by container \(row.container.prefix(12))",
          hint: "choose another host port")
      }
      try row.delete(db)
    }
    if !Self.hostPortIsFree(port) {
      throw BerthError(
        .alreadyExists,
        "port \(port.hostIP.isEmpty ? "" : port.hostIP + ":")\(port.hostPort)/\(port.protocol) is already in use on the host",
        hint: "choose another host port")
    }
  }

  func freeHostPort(_ db: Database, _ port: PublishedPort) throws -> Int {
    // Docker's range for -p CONTAINER: the kernel's ephemeral ports.
    for _ in 0..<200 {
      var candidate = port
      candidate.hostPort = Int.random(in: 32768...60999)
      if (try? claim(db, candidate)) != nil { return candidate.hostPort }
    }
    throw BerthError(.alreadyExists, "no free host port was found for \(port.containerPort)")
  }

  /// Whether a socket can bind the port now (nothing on the host holds it).
  static func hostPortIsFree(_ port: PublishedPort) -> Bool {
    guard let fd = boundSocket(port) else { return false }
    if fd >= 0 { close(fd) }
    return true
  }

  /// A socket bound to the host port; nil when something holds it, -1
  /// when no socket could be made at all.
  static func boundSocket(_ port: PublishedPort) -> Int32? {
    let v6 = port.hostIP.contains(":")
    let type = port.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM
    let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    let bytes = IPAddress(port.hostIP.isEmpty ? (v6 ? "::" : "0.0.0.0") : port.hostIP)?.bytes ?? []
    func binds<Address>(_ address: inout Address) -> Bool {
      withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) == 0
        }
      }
    }
    let bound: Bool
    if v6 {
      var address = sockaddr_in6()
      address.sin6_family = sa_family_t(AF_INET6)
      address.sin6_port = UInt16(port.hostPort).bigEndian
      withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
      bound = binds(&address)
    } else {
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = UInt16(port.hostPort).bigEndian
      withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
      bound = binds(&address)
    }
    if !bound { close(fd) }
    return bound ? fd : nil
  }

  // MARK: Teardown

  /// Undoes what a start did: ports, DNS names, the veths and namespace
  /// (pasta); with `release`, the leases too (the container is removed).
  /// `monitorDone`: the monitor finished and removed the veths, namespace and
  /// pasta itself. Safe to run twice, and after a crash at any point.
  func tearDownNetworks(_ id: String, release: Bool, monitorDone: Bool = false) {
    let rows =
      (try? database.read { db -> ([PublishedPort], [Attachment]) in
        (
          try PublishedPort.filter(Column("container") == id).fetchAll(db),
          try Attachment.filter(Column("container") == id).fetchAll(db)
        )
      }) ?? ([], [])
    // A rootless container's ports are its relay's sockets, not rules.
    if !rows.0.isEmpty && !rootless {
      var elements: [(PublishedPort, IPAddress)] = []
      let addresses = rows.1.flatMap {
        [$0.ipv4, $0.ipv6].compactMap { $0 }.compactMap(IPAddress.init)
      }
      for port in rows.0 {
        for address in addresses { elements.append((port, address)) }
      }
      Firewall.unpublish(elements)
    }
    for attachment in rows.1 { removeNames(id, network: attachment.network) }
    if !monitorDone {
      // A rootless container's veths and namespace are not the host's:
      // they go with its monitor.
      if !rootless {
        NetworkNamespace.removeInterfaces(rows.1.map { Self.hostVethName(id, $0.ordinal) })
        NetworkNamespace.remove(at: networkNamespacePath(id))
      }
      stopPasta(id)
    }
    stopPortProxy(id)
    _ = try? database.write { db in
      try db.execute(sql: "DELETE FROM published WHERE container = ?", arguments: [id])
      if release {
        try db.execute(sql: "DELETE FROM attachment WHERE container = ?", arguments: [id])
      }
    }
    stopNetworkHostIfUnused(except: id)
  }
}

/// MAC addresses: given (validated) or random, locally administered.
enum MACAddress {
  static func validate(_ text: String) throws(BerthError) -> String {
    guard bytes(text) != nil else {
      throw BerthError(
        .invalidArgument, "invalid MAC address \"\(text)\"",
        hint: "use six hex pairs, 02:42:ac:11:00:02")
    }
    return text.lowercased()
  }

  static func random() -> String {
    var bytes = (0..<6).map { _ in UInt8.random(in: 0...255) }
    bytes[0] = (bytes[0] & 0xfe) | 0x02  // unicast, locally administered
    return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
  }

  static func bytes(_ text: String) -> [UInt8]? {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 6 else { return nil }
    let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
    guard bytes.count == 6, bytes[0] & 1 == 0 else { return nil }
    return bytes
  }
}
