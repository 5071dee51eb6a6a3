// The names a network's DNS responder answers, from a text file the engine
// writes (hosts-file style, one address per line):
//   # comment
//   ADDRESS NAME [NAME...]
// ADDRESS is IPv4 or IPv6; the names are the container's name, its network
// aliases and short id. Names match case-insensitively, with or without a
// trailing dot and with or without the `.dns.berth` suffix. Several lines
// may name the same name (a v4 and a v6 address, an alias two containers
// share): its addresses add up, in file order.
//   @CLIENT ADDRESS NAME [NAME...]
// is seen by the client at CLIENT only: a container on several networks
// asks its first network's responder, which so learns the names of the
// container's other networks without showing them to anyone else.
import Glibc

/// A name's addresses, in network byte order: 4 bytes each for IPv4, 16
/// for IPv6.
struct DNSAddresses: Equatable {
  var ipv4: [[UInt8]] = []
  var ipv6: [[UInt8]] = []
}

struct DNSRecords: Equatable {
  /// The zone we answer for with authority, NXDOMAIN included.
  static let domain = "dns.berth"

  private(set) var names: [String: DNSAddresses] = [:]
  /// Names only one client sees, by the client's address bytes.
  private(set) var scoped: [[UInt8]: [String: DNSAddresses]] = [:]
  /// Lines whose address did not parse, for the caller to report.
  private(set) var invalidLines: [Int] = []

  init() {}

  init(parsing text: String) {
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false)
      .enumerated()
    {
      let content = line.prefix { $0 != "#" }
      var fields = content.split { $0 == " " || $0 == "\t" || $0 == "\r" }
      guard let first = fields.first else { continue }
      var client: [UInt8]? = nil
      if first.hasPrefix("@") {
        client = Self.parseAddress(String(first.dropFirst()))
        fields.removeFirst()
        guard client != nil else {
          invalidLines.append(index + 1)
          continue
        }
      }
      guard fields.count >= 2, let address = Self.parseAddress(String(fields[0])) else {
        invalidLines.append(index + 1)
        continue
      }
      for field in fields.dropFirst() {
        let name = Self.normalize(String(field))
        guard !name.isEmpty else { continue }
        if let client {
          Self.add(address, to: &scoped[client, default: [:]][name, default: DNSAddresses()])
        } else {
          Self.add(address, to: &names[name, default: DNSAddresses()])
        }
      }
    }
  }

  static func add(_ address: [UInt8], to entry: inout DNSAddresses) {
    if address.count == 4 {
      if !entry.ipv4.contains(address) { entry.ipv4.append(address) }
    } else if !entry.ipv6.contains(address) {
      entry.ipv6.append(address)
    }
  }

  /// IPv4 (4 bytes) or IPv6 (16 bytes) address bytes from text.
  static func parseAddress(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      return withUnsafeBytes(of: v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
      return withUnsafeBytes(of: v6) { Array($0) }
    }
    return nil
  }

  /// Lowercase (ASCII only, as DNS compares names) without a trailing dot.
  static func normalize(_ name: String) -> String {
    var scalars = String.UnicodeScalarView()
    for scalar in name.unicodeScalars {
      if scalar.value >= 0x41 && scalar.value <= 0x5A {
        scalars.append(UnicodeScalar(scalar.value + 0x20)!)
      } else {
        scalars.append(scalar)
      }
    }
    var result = String(scalars)
    if result.hasSuffix(".") { result.removeLast() }
    return result
  }

  /// Whether `name` is in our zone: answered with authority even when
  /// unknown, never forwarded.
  static func isInDomain(_ name: String) -> Bool {
    let name = normalize(name)
    return name == domain || name.hasSuffix("." + domain)
  }

  /// The addresses of `name`, as written or with the `.dns.berth` suffix;
  /// nil for a name the file does not have.
  /// Names scoped to `client` (its address bytes) are found for it alone.
  func lookup(_ name: String, client: [UInt8]? = nil) -> DNSAddresses? {
    let name = Self.normalize(name)
    let own = client.flatMap { scoped[$0] } ?? [:]
    if let entry = names[name] ?? own[name] { return entry }
    let suffix = "." + Self.domain
    guard name.hasSuffix(suffix) else { return nil }
    let short = String(name.dropLast(suffix.count))
    return names[short] ?? own[short]
  }
}
