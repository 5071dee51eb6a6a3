// The DNS wire format, as far as a network's name responder needs it: read
// one query's header and question, and build the answers (RFC 1035). Pure
// logic, no I/O. Every read is bounds-checked: packets come from any
// container on the network.

/// Response codes (RFC 1035 4.1.1).
enum DNSRCode: UInt8 {
  case noError = 0
  case formatError = 1
  case serverFailure = 2
  case nameError = 3
  case notImplemented = 4
  case refused = 5
}

enum DNSType {
  static let a: UInt16 = 1
  static let aaaa: UInt16 = 28
  static let any: UInt16 = 255
}

enum DNSClass {
  static let internet: UInt16 = 1
  static let any: UInt16 = 255
}

/// A standard query with exactly one question.
struct DNSQuery: Equatable {
  var id: UInt16
  var flags: UInt16
  /// The labels as sent (case kept, for the copy in the answer).
  var labels: [[UInt8]]
  var type: UInt16
  var qclass: UInt16
  /// The question section's bytes (name, type, class), echoed in answers.
  var question: [UInt8]

  var recursionDesired: Bool { flags & 0x0100 != 0 }

  /// The name in presentation form without the trailing dot: a dot or an
  /// odd byte inside a label is escaped, so `a\.b` never reads as `a.b`.
  var name: String {
    labels.map { label in
      var text = ""
      for byte in label {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "\\"):
          text += "\\" + String(UnicodeScalar(byte))
        case 0x21...0x7E:
          text.unicodeScalars.append(UnicodeScalar(byte))
        default:
          let digits = String(byte)
          text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
        }
      }
      return text
    }.joined(separator: ".")
  }

  /// Reads `packet` as a query; nil for anything else: a short or
  /// truncated packet, a response, another opcode, not one question, a
  /// compression pointer or an oversized label or name in the question.
  init?(parsing packet: [UInt8]) {
    guard packet.count >= 12 else { return nil }
    let flags = DNSMessage.uint16(packet, 2)
    // QR must be clear and the opcode QUERY (0).
    guard flags & 0x8000 == 0, flags & 0x7800 == 0 else { return nil }
    guard DNSMessage.uint16(packet, 4) == 1 else { return nil }
    var offset = 12
    var labels: [[UInt8]] = []
    var nameLength = 0
    while true {
      guard offset < packet.count else { return nil }
      let length = Int(packet[offset])
      offset += 1
      if length == 0 { break }
      // 0b11 is a compression pointer, 0b01/0b10 are unused label types: a
      // question's name is the first in the packet, so a pointer has
      // nothing before it to point at.
      guard length <= 63, packet.count - offset >= length else { return nil }
      nameLength += length + 1
      guard nameLength < 255 else { return nil }
      labels.append(Array(packet[offset..<offset + length]))
      offset += length
    }
    guard packet.count - offset >= 4 else { return nil }
    self.id = DNSMessage.uint16(packet, 0)
    self.flags = flags
    self.labels = labels
    self.type = DNSMessage.uint16(packet, offset)
    self.qclass = DNSMessage.uint16(packet, offset + 2)
    self.question = Array(packet[12..<offset + 4])
  }
}

enum DNSMessage {
  /// Plain UDP DNS without EDNS: answers stay within 512 bytes.
  static let maximumUDPSize = 512

  /// Reads a big-endian 16-bit value; the caller checked the bounds.
  static func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
  }

  static func appendUInt16(_ value: UInt16, to bytes: inout [UInt8]) {
    bytes.append(UInt8(value >> 8))
    bytes.append(UInt8(value & 0xFF))
  }

  /// The response with `rcode` to a packet that is no query we can read:
  /// FORMERR by default, NOTIMP for another opcode. Header only, with the
  /// ID, opcode and RD copied. Nil when there is nothing to answer: fewer
  /// bytes than a header, or a response (never answer those: two servers
  /// could otherwise bounce errors at each other forever).
  static func errorResponse(to packet: [UInt8]) -> [UInt8]? {
    guard packet.count >= 12 else { return nil }
    let flags = uint16(packet, 2)
    guard flags & 0x8000 == 0 else { return nil }
    let rcode: DNSRCode = flags & 0x7800 == 0 ? .formatError : .notImplemented
    // QR, the opcode, RD, RA.
    let responseFlags = 0x8000 | flags & 0x7900 | 0x0080 | UInt16(rcode.rawValue)
    var bytes = Array(packet[0..<2])
    appendUInt16(responseFlags, to: &bytes)
    bytes += [UInt8](repeating: 0, count: 8)
    return bytes
  }

  /// A response to `query` with the question copied and `answers` (record
  /// type and data) under the question's name. Answers that would pass
  /// 512 bytes are left out: we speak no TCP, and a client would only
  /// retry there after a truncated answer.
  static func response(
    to query: DNSQuery, rcode: DNSRCode, authoritative: Bool,
    answers: [(type: UInt16, data: [UInt8])] = [], ttl: UInt32 = 0
  ) -> [UInt8] {
    var records: [UInt8] = []
    var count: UInt16 = 0
    let room = maximumUDPSize - 12 - query.question.count
    for answer in answers {
      // A pointer to the question's name at offset 12, type, class,
      // TTL, data length, data.
      var record: [UInt8] = [0xC0, 0x0C]
      appendUInt16(answer.type, to: &record)
      appendUInt16(DNSClass.internet, to: &record)
      appendUInt16(UInt16(ttl >> 16), to: &record)
      appendUInt16(UInt16(ttl & 0xFFFF), to: &record)
      appendUInt16(UInt16(answer.data.count), to: &record)
      record += answer.data
      if records.count + record.count > room { break }
      records += record
      count += 1
    }
    // QR, AA when ours, RD copied, RA.
    var flags: UInt16 = 0x8000 | query.flags & 0x0100 | 0x0080 | UInt16(rcode.rawValue)
    if authoritative { flags |= 0x0400 }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(12 + query.question.count + records.count)
    appendUInt16(query.id, to: &bytes)
    appendUInt16(flags, to: &bytes)
    appendUInt16(1, to: &bytes)
    appendUInt16(count, to: &bytes)
    appendUInt16(0, to: &bytes)
    appendUInt16(0, to: &bytes)
    bytes += query.question
    bytes += records
    return bytes
  }

  /// The authoritative answer for one of our names: its addresses of the
  /// asked type (both for ANY), NOERROR without answers when it has none
  /// of that type, NXDOMAIN when `addresses` is nil (the name is unknown).
  static func answer(to query: DNSQuery, addresses: DNSAddresses?, ttl: UInt32 = 0) -> [UInt8] {
    guard let addresses else {
      return response(to: query, rcode: .nameError, authoritative: true)
    }
    var answers: [(type: UInt16, data: [UInt8])] = []
    if query.qclass == DNSClass.internet || query.qclass == DNSClass.any {
      if query.type == DNSType.a || query.type == DNSType.any {
        answers += addresses.ipv4.map { (DNSType.a, $0) }
      }
      if query.type == DNSType.aaaa || query.type == DNSType.any {
        answers += addresses.ipv6.map { (DNSType.aaaa, $0) }
      }
    }
    return response(to: query, rcode: .noError, authoritative: true, answers: answers, ttl: ttl)
  }
}
