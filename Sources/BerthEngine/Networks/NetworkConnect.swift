// `network connect` and `disconnect`: a stopped container's next start
// joins (or leaves) the network; a running one is wired at once, through
// the same lease, veth and names steps a start takes.
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc
import SystemPackage

extension Engine {
  public func connect(_ networkName: String, container reference: String, request: NetworkRequest)
    throws(BerthError)
  {
    let network = try self.network(networkName)
    var container = try lookup(reference)
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    container = try refresh(container.id)
    var config = try container.decodedConfig()
    // Disconnected from every network (networks == []), it still has its
    // own namespace and may join again, as docker allows (compose does it).
    if config.network == "none" && config.networks?.isEmpty == true {
      config.network = "bridge"
    }
    guard config.network == "bridge" else {
      throw BerthError(
        .invalidState,
        "container \(container.name) has --network \(config.network), not bridge networks")
    }
    var requests = config.networks ?? [NetworkRequest(name: Self.defaultNetwork)]
    guard !requests.contains(where: { $0.name == network.name }) else {
      throw BerthError(
        .alreadyExists, "container \(container.name) is already connected to \(network.name)")
    }
    var request = request
    request.name = network.name
    requests.append(request)
    config.networks = requests
    let running = container.state == .running || container.state == .paused
    if running && rootless {
      // The veth would be plugged by the monitor, which has no request
      // channel for it: a stopped container takes the network at start.
      throw BerthError(
        .unsupported,
        "rootless containers join networks at start; \(container.name) is running",
        hint: "stop it, connect it, and start it again")
    }
    if running {
      try ensureBridge(network)
      let all = try requests.map { (r) throws(BerthError) in try self.network(r.name) }
      let attachments = try lease(container, requests: requests, networks: all)
      guard let attachment = attachments.last else { return }
      let state = NetworkState(
        namespace: networkNamespacePath(container.id), attachments: [(network, attachment)],
        published: [], needsCleanup: false)
      try wire(container, state)
      try addNames(container, state)
      let full = NetworkState(
        namespace: state.namespace, attachments: Array(zip(all, attachments)), published: [],
        needsCleanup: false)
      try rewriteNetworkFiles(container, config: config, network: full)
    }
    let encoded = try Container.encode(config)
    try database.write { db in
      try db.execute(
        sql: "UPDATE container SET config = ? WHERE id = ?", arguments: [encoded, container.id])
      try EventLog.record(
        db, type: "network", action: "connect", id: network.id, name: network.name,
        attributes: ["container": container.id])
    }
  }

  public func disconnect(_ networkName: String, container reference: String) throws(BerthError) {
    let network = try self.network(networkName)
    var container = try lookup(reference)
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    container = try refresh(container.id)
    var config = try container.decodedConfig()
    var requests = config.networks ?? [NetworkRequest(name: Self.defaultNetwork)]
    guard config.network == "bridge", requests.contains(where: { $0.name == network.name }) else {
      throw BerthError(
        .notFound, "container \(container.name) is not connected to network \(network.name)")
    }
    requests.removeAll { $0.name == network.name }
    let attachment = try database.read { db in
      try Attachment.fetchOne(db, key: ["container": container.id, "network": network.name])
    }
    if let attachment, container.state == .running || container.state == .paused {
      removeNames(container.id, network: network.name)
      if let netlink = try? RouteNetlink(),
        let index = try? netlink.linkIndex(Self.hostVethName(container.id, attachment.ordinal))
      {
        try netlink.deleteLink(index, what: "the veth of \(container.name) on \(network.name)")
      }
    }
    config.networks = requests
    if requests.isEmpty { config.network = "none" }
    let encoded = try Container.encode(config)
    try database.write { db in
      try db.execute(
        sql: "DELETE FROM attachment WHERE container = ? AND network = ?",
        arguments: [container.id, network.name])
      try db.execute(
        sql: "UPDATE container SET config = ? WHERE id = ?", arguments: [encoded, container.id])
      try EventLog.record(
        db, type: "network", action: "disconnect", id: network.id, name: network.name,
        attributes: ["container": container.id])
    }
    if container.state == .running || container.state == .paused {
      let remaining = try attachments(of: container.id)
      try rewriteNetworkFiles(
        container, config: config,
        network: NetworkState(
          namespace: networkNamespacePath(container.id),
          attachments: remaining.map { (network: $0.0, attachment: $0.1) }, published: [],
          needsCleanup: false))
    }
  }

  /// /etc/hosts and resolv.conf of a running container, rewritten in place:
  /// they are bind mounts of these files, and a rename would leave the
  /// container reading the old ones.
  func rewriteNetworkFiles(_ container: Container, config: ContainerConfig, network: NetworkState)
    throws(BerthError)
  {
    let directory = containerDirectory(container.id) + "/userdata"
    let hostname = config.hostname ?? container.shortID
    for (name, text) in [
      (
        "hosts",
        ContainerNetworkFiles.hosts(
          container: container, hostname: hostname, config: config, network: network)
      ),
      ("resolv.conf", ContainerNetworkFiles.resolvConf(config: config, network: network)),
    ] {
      let fd = try check("cannot open \(directory)/\(name)") {
        open(directory + "/" + name, O_WRONLY | O_TRUNC | O_CLOEXEC)
      }
      defer { close(fd) }
      try FileDescriptor(rawValue: fd).writeFully(text, what: "cannot write \(name)")
    }
  }

  /// The networks a container is on, with its leases, for inspect and port.
  public func attachments(of id: String) throws(BerthError) -> [(Network, Attachment)] {
    try database.read { db in
      let rows = try Attachment.filter(Column("container") == id).order(Column("ordinal"))
        .fetchAll(db)
      return try rows.compactMap { row in
        try Network.fetchOne(db, key: row.network).map { ($0, row) }
      }
    }
  }

  /// Every container's networks and ports in two queries, for lists of
  /// many containers (two queries each cost `docker ps` of 100 a third).
  public func allAttachments() throws(BerthError) -> (
    attachments: [String: [(Network, Attachment)]], ports: [String: [PublishedPort]]
  ) {
    try database.read { db in
      let networks = Dictionary(
        try Network.fetchAll(db).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
      var attachments: [String: [(Network, Attachment)]] = [:]
      for row in try Attachment.order(Column("ordinal")).fetchAll(db) {
        if let network = networks[row.network] {
          attachments[row.container, default: []].append((network, row))
        }
      }
      return (attachments, try Self.publishedByContainer(db))
    }
  }

  /// Every running container's published ports in one query (`ps`).
  public func allPublishedPorts() throws(BerthError) -> [String: [PublishedPort]] {
    try database.read { db in try Self.publishedByContainer(db) }
  }

  static func publishedByContainer(_ db: Database) throws -> [String: [PublishedPort]] {
    Dictionary(
      grouping: try PublishedPort.order(Column("hostPort")).fetchAll(db), by: \.container)
  }

  public func publishedPorts(of id: String) throws(BerthError) -> [PublishedPort] {
    try database.read { db in
      try PublishedPort.filter(Column("container") == id).order(Column("hostPort")).fetchAll(db)
    }
  }
}
