import Testing

@testable import BerthMonitor

@Suite struct DNSMessageTests {
  let records = DNSRecords(
    parsing: """
      # containers on net1
      10.88.0.2 web Web-Alias 0123456789ab
      10.88.0.3\tdb   database   # a comment after the names
      fd00::2 web
      not-an-address nobody
      10.88.0.9 shared
      10.88.0.10 shared

      """)

  /// A query as a resolver sends it: ID, flags (RD by default), one
  /// question, no other records.
  func query(
    _ labels: [String], type: UInt16 = DNSType.a, id: UInt16 = 0x1234, flags: UInt16 = 0x0100
  ) -> [UInt8] {
    var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF)]
    bytes += [0, 1, 0, 0, 0, 0, 0, 0]
    for label in labels { bytes += [UInt8(label.utf8.count)] + Array(label.utf8) }
    bytes += [0, UInt8(type >> 8), UInt8(type & 0xFF), 0, 1]
    return bytes
  }

  func response(to packet: [UInt8], canForward: Bool = true) -> [UInt8]? {
    guard
      case .respond(let bytes) = DNSResponder.action(
        for: packet, records: records, canForward: canForward)
    else { return nil }
    return bytes
  }

  @Test func parsesAnAQueryBuiltByHand() {
    // ID 0xABCD, RD, one question: web.dns.berth IN A.
    let packet: [UInt8] = [
      0xAB, 0xCD, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x03, 0x77, 0x65, 0x62, 0x03, 0x64, 0x6E, 0x73, 0x05, 0x62, 0x65, 0x72, 0x74, 0x68, 0x00,
      0x00, 0x01, 0x00, 0x01,
    ]
    let query = DNSQuery(parsing: packet)
    #expect(query?.id == 0xABCD)
    #expect(query?.recursionDesired == true)
    #expect(query?.name == "web.dns.berth")
    #expect(query?.type == DNSType.a)
    #expect(query?.qclass == DNSClass.internet)
    #expect(query?.question == Array(packet[12...]))
  }

  @Test func answersAWithTheIDAndFlagsOfTheQuery() throws {
    let packet = query(["web"])
    let bytes = try #require(response(to: packet))
    #expect(bytes[0..<2] == [0x12, 0x34])
    // QR, AA, RD; RA, NOERROR.
    #expect(bytes[2..<4] == [0x85, 0x80])
    #expect(bytes[4..<12] == [0, 1, 0, 1, 0, 0, 0, 0])
    #expect(bytes[12..<packet.count] == packet[12...])
    // Name pointer, A, IN, TTL 0, 4 bytes of address.
    #expect(
      bytes[packet.count...] == [0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 88, 0, 2])
  }

  @Test func answersAAAAAndSeveralAddresses() throws {
    let ipv6 = try #require(response(to: query(["web"], type: DNSType.aaaa)))
    #expect(ipv6[6..<8] == [0, 1])
    #expect(ipv6.suffix(18) == [0, 16, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
    let shared = try #require(response(to: query(["shared"])))
    #expect(shared[6..<8] == [0, 2])
    #expect(shared.suffix(4) == [10, 88, 0, 10])
  }

  @Test func unknownNamesInOurDomainAreNXDOMAIN() throws {
    let bytes = try #require(response(to: query(["nosuch", "dns", "berth"])))
    #expect(bytes[3] & 0x0F == DNSRCode.nameError.rawValue)
    #expect(bytes[2] & 0x04 != 0)
    #expect(bytes[6..<8] == [0, 0])
  }

  @Test func aKnownNameWithoutThatTypeIsNOERRORWithoutAnswers() throws {
    let bytes = try #require(response(to: query(["db"], type: DNSType.aaaa)))
    #expect(bytes[3] & 0x0F == DNSRCode.noError.rawValue)
    #expect(bytes[6..<8] == [0, 0])
  }

  @Test func otherNamesAreForwardedOrFailWithoutUpstream() throws {
    let packet = query(["example", "com"])
    let forwarded = try #require(DNSQuery(parsing: packet))
    #expect(
      DNSResponder.action(for: packet, records: records, canForward: true) == .forward(forwarded))
    let bytes = try #require(response(to: packet, canForward: false))
    #expect(bytes[3] & 0x0F == DNSRCode.serverFailure.rawValue)
    #expect(bytes[2] & 0x04 == 0)
  }

  @Test func namesMatchWithoutCaseTrailingDotOrTheDomainSuffix() {
    let web = records.lookup("web")
    #expect(web?.ipv4 == [[10, 88, 0, 2]])
    #expect(records.lookup("WEB") == web)
    #expect(records.lookup("Web.DNS.Berth.") == web)
    // The IPv6 line names web only.
    #expect(records.lookup("web-alias.dns.berth")?.ipv4 == web?.ipv4)
    #expect(records.lookup("0123456789AB")?.ipv6 == [])
    #expect(records.lookup("web.dns") == nil)
    #expect(records.lookup("nobody") == nil)
    #expect(response(to: query(["WeB", "DnS", "bErTh"]))?.suffix(4) == [10, 88, 0, 2])
  }

  @Test func truncatedOrGarbageInputGetsNilOrFORMERR() throws {
    let packet = query(["web"])
    for cut in 0..<packet.count {
      let prefix = Array(packet[..<cut])
      #expect(DNSQuery(parsing: prefix) == nil)
      let action = DNSResponder.action(for: prefix, records: records, canForward: true)
      if cut < 12 {
        #expect(action == .drop)
      } else {
        let bytes = try #require(response(to: prefix))
        #expect(bytes == [0x12, 0x34, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
      }
    }
    // A compression pointer where the question's name should be.
    let pointer = Array(packet[..<12]) + [0xC0, 0x0C, 0, 1, 0, 1]
    #expect(DNSQuery(parsing: pointer) == nil)
    let refused = try #require(response(to: pointer))
    #expect(refused[3] & 0x0F == DNSRCode.formatError.rawValue)
    // A label longer than 63 bytes, two questions, a response.
    #expect(DNSQuery(parsing: query([String(repeating: "a", count: 64)])) == nil)
    var two = packet
    two[5] = 2
    #expect(DNSQuery(parsing: two) == nil)
    var answer = packet
    answer[2] |= 0x80
    #expect(DNSResponder.action(for: answer, records: records, canForward: true) == .drop)
    // Bytes that are no DNS at all must not crash anything.
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<10_000 {
      let count = Int.random(in: 0..<48, using: &generator)
      var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
      if bytes.count >= 6 {
        bytes[2] &= 0x01
        bytes[4] = 0
        bytes[5] = 1
      }
      _ = DNSResponder.action(for: bytes, records: records, canForward: true)
    }
  }

  @Test func recordsFileKeepsCommentsOutAndReadsIPv6() {
    #expect(records.invalidLines == [5])
    #expect(records.lookup("db")?.ipv4 == [[10, 88, 0, 3]])
    #expect(records.lookup("database")?.ipv6 == [])
    #expect(records.lookup("a") == nil)
    #expect(records.lookup("#") == nil)
    #expect(records.lookup("web")?.ipv6 == [[0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]])
    #expect(DNSRecords(parsing: "# only a comment\n\n").names.isEmpty)
  }
  @Test func scopedLinesAreSeenByTheirClientAlone() {
    let records = DNSRecords(parsing: "10.1.0.2 web\n@10.1.0.3 10.2.0.5 db\n@bogus 1.2.3.4 x\n")
    let client: [UInt8] = [10, 1, 0, 3]
    #expect(records.lookup("db", client: client)?.ipv4 == [[10, 2, 0, 5]])
    #expect(records.lookup("db.dns.berth", client: client)?.ipv4 == [[10, 2, 0, 5]])
    #expect(records.lookup("db", client: [10, 1, 0, 4]) == nil)
    #expect(records.lookup("db") == nil)
    #expect(records.lookup("web", client: client)?.ipv4 == [[10, 1, 0, 2]])
    #expect(records.invalidLines == [3])
  }
}
