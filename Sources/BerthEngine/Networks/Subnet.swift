// IPv4 and IPv6 addresses and subnets as bytes: parsing (inet_pton, so
// exactly what the C library accepts), overlap, and the n-th address of a
// subnet for the allocator.
import BerthSystem
import Glibc

public struct IPAddress: Hashable, Sendable, CustomStringConvertible, Codable {
  /// 4 bytes (IPv4) or 16 (IPv6), network order.
  public var bytes: [UInt8]

  public init(bytes: [UInt8]) { self.bytes = bytes }

  public init?(_ text: String) {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      bytes = withUnsafeBytes(of: &v4) { Array($0) }
      return
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
      bytes = withUnsafeBytes(of: &v6) { Array($0) }
      return
    }
    return nil
  }

  public var isIPv4: Bool { bytes.count == 4 }

  public var description: String {
    var buffer = [CChar](repeating: 0, count: 64)
    let family = isIPv4 ? AF_INET : AF_INET6
    _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, 64) }
    return String(cString: buffer)
  }

  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    guard let value = IPAddress(text) else {
      throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "bad IP \(text)"))
    }
    self = value
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }
}

public struct Subnet: Hashable, Sendable, CustomStringConvertible {
  /// The network address (host bits cleared).
  public var address: IPAddress
  public var prefix: Int

  public init(address: IPAddress, prefix: Int) {
    self.address = Subnet.masked(address, prefix)
    self.prefix = prefix
  }

  /// `10.89.0.0/24`, `fd00::/64`; host bits set are an error, as podman says.
  public init(parsing text: String) throws(BerthError) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let address = IPAddress(String(parts[0])), let prefix = Int(parts[1]),
      prefix >= 0, prefix <= address.bytes.count * 8
    else {
      throw BerthError(
        .invalidArgument, "invalid subnet \"\(text)\"",
        hint: "give an address and a prefix length, e.g. 10.89.0.0/24 or fd00:1::/64")
    }
    guard Subnet.masked(address, prefix) == address else {
      throw BerthError(
        .invalidArgument, "invalid subnet \"\(text)\": host bits are set",
        hint: "use \(Subnet.masked(address, prefix))/\(prefix)")
    }
    self.address = address
    self.prefix = prefix
  }

  public var isIPv4: Bool { address.isIPv4 }
  public var description: String { "\(address)/\(prefix)" }
  var bits: Int { address.bytes.count * 8 }

  static func masked(_ address: IPAddress, _ prefix: Int) -> IPAddress {
    var bytes = address.bytes
    for i in 0..<bytes.count {
      let keep = max(0, min(8, prefix - i * 8))
      bytes[i] &= keep == 8 ? 0xff : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
    }
    return IPAddress(bytes: bytes)
  }

  public func contains(_ other: IPAddress) -> Bool {
    other.bytes.count == address.bytes.count && Subnet.masked(other, prefix) == address
  }

  public func overlaps(_ other: Subnet) -> Bool {
    guard other.isIPv4 == isIPv4 else { return false }
    let shorter = min(prefix, other.prefix)
    return Subnet.masked(address, shorter) == Subnet.masked(other.address, shorter)
  }

  /// The address `offset` places above the network address, if inside.
  public func address(at offset: UInt64) -> IPAddress? {
    let hostBits = bits - prefix
    if hostBits < 64 && offset >= (UInt64(1) << hostBits) { return nil }
    var bytes = address.bytes
    var carry = offset
    var i = bytes.count - 1
    while carry > 0 && i >= 0 {
      let sum = UInt64(bytes[i]) + (carry & 0xff)
      bytes[i] = UInt8(truncatingIfNeeded: sum)
      carry = (carry >> 8) + (sum >> 8)
      i -= 1
    }
    let result = IPAddress(bytes: bytes)
    return contains(result) ? result : nil
  }

  /// How far above the network address `other` is (its low 64 bits), if
  /// inside: the inverse of address(at:).
  public func offset(of other: IPAddress) -> UInt64? {
    guard contains(other) else { return nil }
    func low(_ bytes: [UInt8]) -> UInt64 {
      bytes.suffix(8).reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
    return low(other.bytes) &- low(address.bytes)
  }

  /// How many addresses a container may get: all but the network address,
  /// the gateway and (IPv4) the broadcast address; capped for IPv6.
  public var usableCount: UInt64 {
    let hostBits = bits - prefix
    if hostBits >= 32 { return UInt64(UInt32.max) }
    let all = UInt64(1) << hostBits
    return all > 3 ? all - (isIPv4 ? 3 : 2) : 0
  }
}
