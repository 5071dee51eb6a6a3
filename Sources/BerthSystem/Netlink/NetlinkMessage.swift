// rtnetlink messages built byte by byte on the kernel's documented layout
// (netlink(7), rtnetlink(7)). Hand-written rather than through libnl-route:
// the engine needs a dozen fixed requests, each one message; this is the
// whole encoder, and it keeps BerthSystem (and the static monitor, which
// tears networks down) free of another shared library. netavark and the
// Go netlink package podman's CNI plugins use take the same approach.

/// A request: nlmsghdr, a fixed family header, then attributes.
public struct NetlinkMessage {
  public private(set) var bytes: [UInt8] = []
  /// Offsets of open nested attributes, patched with their length on close.
  private var open: [Int] = []

  public init(type: UInt16, flags: UInt16, header: [UInt8]) {
    append32(0)  // length, patched by `finished`
    append16(type)
    append16(flags | Netlink.request)
    append32(0)  // sequence, set by the socket
    append32(0)  // port id: the kernel fills it in
    bytes += header
    pad()
  }

  public mutating func attribute(_ type: UInt16, _ payload: [UInt8]) {
    append16(UInt16(4 + payload.count))
    append16(type)
    bytes += payload
    pad()
  }

  public mutating func attribute(_ type: UInt16, string: String) {
    attribute(type, Array(string.utf8) + [0])
  }

  public mutating func attribute(_ type: UInt16, u32 value: UInt32) {
    attribute(type, Netlink.le32(value))
  }

  public mutating func attribute(_ type: UInt16, i32 value: Int32) {
    attribute(type, Netlink.le32(UInt32(bitPattern: value)))
  }

  /// Opens a nested attribute; `close()` ends it.
  public mutating func nest(_ type: UInt16) {
    open.append(bytes.count)
    append16(0)
    append16(type)
  }

  /// Raw bytes inside a nest (veth's peer carries a whole ifinfomsg).
  public mutating func raw(_ payload: [UInt8]) {
    bytes += payload
    pad()
  }

  public mutating func close() {
    let start = open.removeLast()
    let length = UInt16(bytes.count - start)
    bytes[start] = UInt8(length & 0xff)
    bytes[start + 1] = UInt8(length >> 8)
  }

  func finished(sequence: UInt32) -> [UInt8] {
    var out = bytes
    let length = Netlink.le32(UInt32(out.count))
    let seq = Netlink.le32(sequence)
    for i in 0..<4 {
      out[i] = length[i]
      out[8 + i] = seq[i]
    }
    return out
  }

  private mutating func append16(_ value: UInt16) {
    bytes += [UInt8(value & 0xff), UInt8(value >> 8)]
  }

  private mutating func append32(_ value: UInt32) { bytes += Netlink.le32(value) }

  private mutating func pad() {
    while bytes.count % 4 != 0 { bytes.append(0) }
  }
}

/// The constants of the kernel's netlink ABI this code uses (stable uapi
/// values; Glibc does not export <linux/rtnetlink.h>).
public enum Netlink {
  static let request: UInt16 = 0x1
  static let multi: UInt16 = 0x2
  public static let ack: UInt16 = 0x4
  public static let replace: UInt16 = 0x100
  public static let excl: UInt16 = 0x200
  public static let create: UInt16 = 0x400
  public static let dump: UInt16 = 0x300

  static let messageError: UInt16 = 2
  static let messageDone: UInt16 = 3

  public static let newLink: UInt16 = 16
  public static let delLink: UInt16 = 17
  public static let getLink: UInt16 = 18
  public static let newAddress: UInt16 = 20
  public static let newRoute: UInt16 = 24

  // IFLA_*
  public static let linkAddress: UInt16 = 1
  public static let linkName: UInt16 = 3
  public static let linkMTU: UInt16 = 4
  public static let linkMaster: UInt16 = 10
  public static let linkInfo: UInt16 = 18
  public static let linkNamespaceFD: UInt16 = 28
  // IFLA_INFO_*
  public static let infoKind: UInt16 = 1
  public static let infoData: UInt16 = 2
  public static let vethPeer: UInt16 = 1
  // IFA_*
  public static let addressAddress: UInt16 = 1
  public static let addressLocal: UInt16 = 2
  public static let addressFlags: UInt16 = 8
  public static let addressNoDAD: UInt32 = 0x02
  // RTA_*
  public static let routeGateway: UInt16 = 5

  public static let interfaceUp: UInt32 = 0x1

  public static func le32(_ value: UInt32) -> [UInt8] {
    [
      UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff),
      UInt8(value >> 24),
    ]
  }

  /// struct ifinfomsg.
  public static func linkHeader(
    family: UInt8 = 0, index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0
  ) -> [UInt8] {
    [family, 0, 0, 0] + le32(UInt32(bitPattern: index)) + le32(flags) + le32(change)
  }

  /// struct ifaddrmsg.
  public static func addressHeader(family: UInt8, prefix: UInt8, index: Int32) -> [UInt8] {
    [family, prefix, 0, 0] + le32(UInt32(bitPattern: index))
  }

  /// struct rtmsg for a unicast route in the main table.
  public static func routeHeader(family: UInt8, destinationLength: UInt8) -> [UInt8] {
    // family, dst_len, src_len, tos, table main, protocol boot, scope universe, type unicast
    [family, destinationLength, 0, 0, 254, 3, 0, 1] + le32(0)
  }
}
