// A NETLINK_ROUTE socket and the link, address and route requests the
// engine makes: bridges, veth pairs (the peer created straight into the
// container's network namespace), addresses, default routes. Every request
// asks for an ack and reads it, so a failure names its request.
import CBerth
import Glibc
import SystemPackage

public final class RouteNetlink {
  let fd: Int32
  private var sequence: UInt32 = 0

  /// A socket in the caller's network namespace, or in the one at
  /// `namespace` (a netlink socket stays bound to the namespace it was made
  /// in: the thread enters it, makes the socket and returns).
  public init(namespace: String? = nil) throws(BerthError) {
    guard let namespace else {
      fd = try check("cannot open a netlink socket") {
        socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      }
      return
    }
    fd = try NetworkNamespace.inside(namespace) { () throws(BerthError) -> Int32 in
      try check("cannot open a netlink socket in \(namespace)") {
        socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      }
    }
  }

  deinit { Glibc.close(fd) }

  /// Sends one request and waits for its ack; returns the replies before it.
  @discardableResult
  public func request(_ message: NetlinkMessage, what: @autoclosure () -> String)
    throws(BerthError) -> [[UInt8]]
  {
    sequence &+= 1
    let bytes = message.finished(sequence: sequence)
    // struct sockaddr_nl: family AF_NETLINK, pad, pid 0 (the kernel), groups 0.
    var address = [UInt8](repeating: 0, count: 12)
    address[0] = UInt8(AF_NETLINK)
    let sent = address.withUnsafeBytes { raw in
      bytes.withUnsafeBytes {
        sendto(
          fd, $0.baseAddress, $0.count, 0, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self),
          socklen_t(raw.count))
      }
    }
    if sent < 0 { throw .system(what(), currentErrno) }
    var replies: [[UInt8]] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = try check(what()) {
        buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      }
      var offset = 0
      while offset + 16 <= count {
        let length = Int(Self.u32(buffer, offset))
        let type = Self.u16(buffer, offset + 4)
        let seq = Self.u32(buffer, offset + 8)
        guard length >= 16, offset + length <= count else { break }
        if seq == sequence {
          if type == Netlink.messageError {
            let code = Int32(bitPattern: Self.u32(buffer, offset + 16))
            if code == 0 { return replies }
            throw .system(what(), Errno(rawValue: -code))
          }
          if type == Netlink.messageDone { return replies }
          replies.append(Array(buffer[offset..<(offset + length)]))
        }
        offset += (length + 3) & ~3
      }
    }
  }

  // MARK: Links

  /// The index of the link named `name`, nil when there is none.
  public func linkIndex(_ name: String) throws(BerthError) -> Int32? {
    var message = NetlinkMessage(
      type: Netlink.getLink, flags: Netlink.ack, header: Netlink.linkHeader())
    message.attribute(Netlink.linkName, string: name)
    do {
      let replies = try request(message, what: "cannot look up the link \(name)")
      guard let reply = replies.first, reply.count >= 32 else { return nil }
      return Int32(bitPattern: Self.u32(reply, 20))
    } catch  where error.cause == Errno(rawValue: ENODEV) {
      return nil
    }
  }

  public func createBridge(_ name: String, mtu: UInt32?) throws(BerthError) {
    var message = NetlinkMessage(
      type: Netlink.newLink, flags: Netlink.ack | Netlink.create | Netlink.excl,
      header: Netlink.linkHeader())
    message.attribute(Netlink.linkName, string: name)
    if let mtu { message.attribute(Netlink.linkMTU, u32: mtu) }
    message.nest(Netlink.linkInfo)
    message.attribute(Netlink.infoKind, string: "bridge")
    message.close()
    try request(message, what: "cannot create the bridge \(name)")
  }

  /// A veth pair: `name` here, `peer` made directly in the namespace
  /// open at `peerNamespace` (it never appears in ours).
  public func createVeth(
    _ name: String, peer: String, peerNamespace: Int32, mtu: UInt32?, peerMAC: [UInt8]?
  ) throws(BerthError) {
    var message = NetlinkMessage(
      type: Netlink.newLink, flags: Netlink.ack | Netlink.create | Netlink.excl,
      header: Netlink.linkHeader())
    message.attribute(Netlink.linkName, string: name)
    if let mtu { message.attribute(Netlink.linkMTU, u32: mtu) }
    message.nest(Netlink.linkInfo)
    message.attribute(Netlink.infoKind, string: "veth")
    message.nest(Netlink.infoData)
    message.nest(Netlink.vethPeer)
    message.raw(Netlink.linkHeader())
    message.attribute(Netlink.linkName, string: peer)
    message.attribute(Netlink.linkNamespaceFD, i32: peerNamespace)
    if let mtu { message.attribute(Netlink.linkMTU, u32: mtu) }
    if let peerMAC { message.attribute(Netlink.linkAddress, peerMAC) }
    message.close()
    message.close()
    message.close()
    try request(message, what: "cannot create the veth pair \(name)")
  }

  /// Brings a link up, and puts it on a bridge when `master` is given.
  public func setUp(_ index: Int32, master: Int32? = nil, what: String) throws(BerthError) {
    var message = NetlinkMessage(
      type: Netlink.newLink, flags: Netlink.ack,
      header: Netlink.linkHeader(
        index: index, flags: Netlink.interfaceUp, change: Netlink.interfaceUp))
    if let master { message.attribute(Netlink.linkMaster, i32: master) }
    try request(message, what: "cannot bring up \(what)")
  }

  public func deleteLink(_ index: Int32, what: String) throws(BerthError) {
    let message = NetlinkMessage(
      type: Netlink.delLink, flags: Netlink.ack, header: Netlink.linkHeader(index: index))
    try request(message, what: "cannot delete \(what)")
  }

  // MARK: Addresses and routes

  /// Adds `address/prefix` (4 or 16 bytes) to the link; IPv6 addresses
  /// skip duplicate address detection (the subnet is ours alone), so they
  /// are usable at once.
  public func addAddress(_ address: [UInt8], prefix: UInt8, link: Int32, what: String)
    throws(BerthError)
  {
    let family = UInt8(address.count == 4 ? AF_INET : AF_INET6)
    var message = NetlinkMessage(
      type: Netlink.newAddress, flags: Netlink.ack | Netlink.create | Netlink.replace,
      header: Netlink.addressHeader(family: family, prefix: prefix, index: link))
    message.attribute(Netlink.addressLocal, address)
    message.attribute(Netlink.addressAddress, address)
    if address.count == 16 { message.attribute(Netlink.addressFlags, u32: Netlink.addressNoDAD) }
    try request(message, what: "cannot add the address to \(what)")
  }

  /// The default route through `gateway` (4 or 16 bytes).
  public func addDefaultRoute(via gateway: [UInt8]) throws(BerthError) {
    let family = UInt8(gateway.count == 4 ? AF_INET : AF_INET6)
    var message = NetlinkMessage(
      type: Netlink.newRoute, flags: Netlink.ack | Netlink.create | Netlink.replace,
      header: Netlink.routeHeader(family: family, destinationLength: 0))
    message.attribute(Netlink.routeGateway, gateway)
    try request(message, what: "cannot add the default route")
  }

  static func u16(_ bytes: [UInt8], _ at: Int) -> UInt16 {
    UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
  }

  static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16
      | UInt32(bytes[at + 3]) << 24
  }
}
