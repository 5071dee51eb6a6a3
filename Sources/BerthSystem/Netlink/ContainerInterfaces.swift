// The container's side of its bridge networks: loopback up, each
// interface's addresses, then the default routes. The engine applies it to
// a rootful container's namespace from outside; a rootless container's
// monitor applies it in the namespace it made (BerthMonitor), so both go
// through this one function.

/// One interface inside the container and the addresses it gets.
public struct InterfaceSettings: Codable, Sendable, Equatable {
  public var name: String
  /// 4- or 16-byte addresses with their prefix lengths.
  public var addresses: [AddressPrefix]

  public struct AddressPrefix: Codable, Sendable, Equatable {
    public var bytes: [UInt8]
    public var prefix: UInt8
    public init(bytes: [UInt8], prefix: UInt8) {
      self.bytes = bytes
      self.prefix = prefix
    }
  }

  public init(name: String, addresses: [AddressPrefix]) {
    self.name = name
    self.addresses = addresses
  }
}

extension RouteNetlink {
  /// Applies `interfaces` and then `defaultRoutes` (gateways, at most one
  /// per family) in this socket's namespace.
  public func configureContainerSide(
    _ interfaces: [InterfaceSettings], defaultRoutes: [[UInt8]]
  ) throws(BerthError) {
    try setUp(1, what: "lo")  // lo is always index 1 in a new namespace
    for interface in interfaces {
      guard let index = try linkIndex(interface.name) else {
        throw BerthError(.system, "\(interface.name) is missing in the container")
      }
      for address in interface.addresses {
        try addAddress(address.bytes, prefix: address.prefix, link: index, what: interface.name)
      }
      try setUp(index, what: interface.name)
    }
    for gateway in defaultRoutes { try addDefaultRoute(via: gateway) }
  }
}

extension RouteNetlink {
  /// A veth pair whose end here, `name`, is up on `bridge`, and whose peer
  /// is made straight inside the namespace open at `peerNamespace`.
  public func plugVeth(
    _ name: String, into bridge: String, peer: String, peerNamespace: Int32, mtu: UInt32?,
    peerMAC: [UInt8]?
  ) throws(BerthError) {
    try createVeth(name, peer: peer, peerNamespace: peerNamespace, mtu: mtu, peerMAC: peerMAC)
    guard let index = try linkIndex(name), let master = try linkIndex(bridge) else {
      throw BerthError(.system, "the veth \(name) or bridge \(bridge) vanished")
    }
    try setUp(index, master: master, what: name)
  }
}
