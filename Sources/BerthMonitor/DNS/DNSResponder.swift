// A user-defined network's DNS responder (podman's aardvark-dns, minimal):
// `berth-monitor dns` listens on the bridge's gateway addresses, port 53,
// in the host's network namespace. It answers the containers' names from
// the records file the engine keeps (see DNSRecords) and forwards any other
// query to the host's resolvers. One process per network, single-threaded,
// a poll loop: no signal handlers, so SIGTERM ends it by default, and the
// engine can also end it by deleting the records file.
import Glibc

public enum DNSResponder {
  static let port: UInt16 = 53
  /// How long a forwarded query waits for an upstream answer.
  static let forwardTimeout: Int64 = 5000
  /// How often, at least, the records file is looked at.
  static let recheckInterval: Int64 = 1000
  /// Each pending forward holds a socket: stay far below the fd limit.
  static let maximumPending = 256

  enum Action: Equatable {
    case respond([UInt8])
    case forward(DNSQuery)
    case drop
  }

  /// What to do with a datagram from a client: our names are answered,
  /// the rest is forwarded, or refused with SERVFAIL when there is no
  /// upstream. Garbage with a readable header gets FORMERR.
  static func action(
    for packet: [UInt8], records: DNSRecords, canForward: Bool, client: [UInt8]? = nil
  ) -> Action {
    guard let query = DNSQuery(parsing: packet) else {
      return DNSMessage.errorResponse(to: packet).map { .respond($0) } ?? .drop
    }
    let name = query.name
    if let addresses = records.lookup(name, client: client) {
      return .respond(DNSMessage.answer(to: query, addresses: addresses))
    }
    if DNSRecords.isInDomain(name) {
      return .respond(DNSMessage.answer(to: query, addresses: nil))
    }
    if canForward { return .forward(query) }
    return .respond(DNSMessage.response(to: query, rcode: .serverFailure, authoritative: false))
  }

  /// Serves until the records file is deleted (0), or fails to start (1).
  /// `listen` and `upstream` are IPv4 or IPv6 addresses (`%IFACE` for a
  /// link-local scope); both use port 53.
  public static func run(records path: String, listen: [String], upstream: [String]) -> Int32 {
    // Whatever our spawner ignored or blocked: SIGTERM must end us.
    signal(SIGTERM, SIG_DFL)
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigprocmask(SIG_SETMASK, &unblocked, nil)

    var file = RecordsFile(path: path)
    guard file.refresh() else {
      report("cannot read the records file \(path)")
      return 1
    }
    guard !listen.isEmpty else {
      report("no address to listen on")
      return 1
    }
    var listeners: [Int32] = []
    var listenAddresses: [SocketAddress] = []
    for text in listen {
      guard let address = SocketAddress(text, port: port) else {
        report("invalid listen address \(text)")
        return 1
      }
      guard let fd = openListener(address) else {
        report("cannot listen on \(text) port \(port): \(errorText())")
        return 1
      }
      listeners.append(fd)
      listenAddresses.append(address)
    }
    let upstreams = Upstreams(upstream, excluding: listenAddresses)

    var buffer = [UInt8](repeating: 0, count: 65536)
    var pending: [Forward] = []
    var lastCheck = monotonicMilliseconds()
    while true {
      var fds = (listeners + pending.map(\.fd)).map {
        pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
      }
      let before = monotonicMilliseconds()
      var timeout = max(0, lastCheck + recheckInterval - before)
      for forward in pending { timeout = min(timeout, max(0, forward.deadline - before)) }
      if poll(&fds, nfds_t(fds.count), Int32(timeout)) < 0 && errno != EINTR {
        report("poll: \(errorText())")
        return 1
      }
      let now = monotonicMilliseconds()
      let queried = fds[..<listeners.count].contains { $0.revents != 0 }
      // Per batch of queries (they must see a new container at once) and
      // every second (the file's removal ends us).
      if queried || now - lastCheck >= recheckInterval {
        lastCheck = now
        guard file.refresh() else { return 0 }
      }

      // Upstream answers, then expiries: both retire pending forwards.
      var finished: [Int] = []
      for (index, entry) in fds[listeners.count...].enumerated() where entry.revents != 0 {
        if pending[index].receive(from: upstreams, buffer: &buffer) { finished.append(index) }
      }
      for index in pending.indices where !finished.contains(index) {
        if pending[index].deadline <= now {
          pending[index].expire()
          finished.append(index)
        }
      }
      for index in finished.sorted(by: >) {
        close(pending[index].fd)
        pending.remove(at: index)
      }

      for (index, entry) in fds[..<listeners.count].enumerated() where entry.revents != 0 {
        // A bounded batch per wakeup, so a flood on one address cannot
        // starve the others or the upstream answers.
        for _ in 0..<64 {
          var client = SocketAddress()
          let count = buffer.withUnsafeMutableBytes { bytes in
            client.withMutablePointer { address, length in
              recvfrom(listeners[index], bytes.baseAddress, bytes.count, 0, address, length)
            }
          }
          guard count >= 0 else { break }
          let packet = Array(buffer[0..<count])
          let decision = action(
            for: packet, records: file.records, canForward: !upstreams.addresses.isEmpty,
            client: client.hostBytes)
          switch decision {
          case .respond(let response):
            send(response, from: listeners[index], to: client)
          case .forward(let query):
            if let forward = Forward(
              packet: packet, query: query, listener: listeners[index], client: client,
              upstreams: upstreams, deadline: now + forwardTimeout)
            {
              pending.append(forward)
              if pending.count > maximumPending { close(pending.removeFirst().fd) }
            } else {
              let failure = DNSMessage.response(
                to: query, rcode: .serverFailure, authoritative: false)
              send(failure, from: listeners[index], to: client)
            }
          case .drop:
            break
          }
        }
      }
    }
  }

  private static func openListener(_ address: SocketAddress) -> Int32? {
    let family = address.family
    // Non-blocking: a batch of reads ends at EAGAIN.
    let type = SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue
    let fd = socket(family, Int32(type), 0)
    guard fd >= 0 else { return nil }
    var on: Int32 = 1
    let size = socklen_t(MemoryLayout<Int32>.size)
    _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, size)
    // The gateway address may not be usable yet (IPv6 duplicate address
    // detection keeps it tentative for a while): bind anyway, and packets
    // arrive once it is.
    _ = setsockopt(fd, Int32(IPPROTO_IP), IP_FREEBIND, &on, size)
    if family == AF_INET6 {
      // The v4 gateway gets its own socket: this one must not claim it.
      _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, size)
    }
    var address = address
    let bound = address.withMutablePointer { pointer, length in bind(fd, pointer, length.pointee) }
    guard bound == 0 else {
      let saved = errno
      close(fd)
      errno = saved
      return nil
    }
    return fd
  }

  static func send(_ bytes: [UInt8], from fd: Int32, to address: SocketAddress) {
    var address = address
    _ = bytes.withUnsafeBytes { raw in
      address.withMutablePointer { pointer, length in
        sendto(fd, raw.baseAddress, raw.count, 0, pointer, length.pointee)
      }
    }
  }

  static func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
  }

  static func errorText() -> String { String(cString: strerror(errno)) }

  /// Errors only, to stderr (the engine keeps stdout for nothing).
  static func report(_ message: String) {
    let line = "berth-monitor dns: " + message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
  }
}

/// An IPv4 or IPv6 socket address.
struct SocketAddress {
  var storage = sockaddr_storage()
  var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

  var family: Int32 { Int32(storage.ss_family) }

  /// The host address: 4 bytes for IPv4 (an IPv4-mapped IPv6 one too), 16
  /// for IPv6.
  var hostBytes: [UInt8]? {
    var copy = storage
    switch family {
    case AF_INET:
      return withUnsafeBytes(of: &copy) { raw in
        Array(raw.load(as: sockaddr_in.self).sin_addr.s_addr.storedBytes)
      }
    case AF_INET6:
      let bytes = withUnsafeBytes(of: &copy) { raw in
        withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
      }
      let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
      return mapped ? Array(bytes[12...]) : bytes
    default: return nil
    }
  }

  init() {}

  /// `text` is an address (IPv6 optionally in brackets and with `%IFACE`).
  init?(_ text: String, port: UInt16) {
    var host = Substring(text)
    if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
    var scope: UInt32 = 0
    if let percent = host.firstIndex(of: "%") {
      let interface = String(host[host.index(after: percent)...])
      scope = UInt32(interface) ?? if_nametoindex(interface)
      guard scope != 0 else { return nil }
      host = host[..<percent]
    }
    guard let bytes = DNSRecords.parseAddress(String(host)) else { return nil }
    if bytes.count == 4 {
      guard scope == 0 else { return nil }
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_port = port.bigEndian
      withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
      store(address)
    } else {
      var address = sockaddr_in6()
      address.sin6_family = sa_family_t(AF_INET6)
      address.sin6_port = port.bigEndian
      address.sin6_scope_id = scope
      withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
      store(address)
    }
  }

  private mutating func store<T>(_ address: T) {
    storage = sockaddr_storage()
    withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: address, as: T.self) }
    length = socklen_t(MemoryLayout<T>.size)
  }

  /// Family, port and address bytes: what identifies a peer (not the
  /// flow label, nor the scope a reply may or may not carry).
  var endpoint: (family: Int32, port: UInt16, address: [UInt8]) {
    withUnsafeBytes(of: storage) { raw in
      if family == AF_INET {
        let address = raw.load(as: sockaddr_in.self)
        return (AF_INET, address.sin_port, withUnsafeBytes(of: address.sin_addr) { Array($0) })
      }
      let address = raw.load(as: sockaddr_in6.self)
      return (family, address.sin6_port, withUnsafeBytes(of: address.sin6_addr) { Array($0) })
    }
  }

  func samePeer(as other: SocketAddress) -> Bool {
    let (mine, theirs) = (endpoint, other.endpoint)
    return mine.family == theirs.family && mine.port == theirs.port
      && mine.address == theirs.address
  }

  /// An IPv4 address as `::ffff:a.b.c.d`, for a dual-stack socket.
  var mappedToIPv6: SocketAddress {
    guard family == AF_INET else { return self }
    let (_, port, bytes) = endpoint
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = port
    withUnsafeMutableBytes(of: &address.sin6_addr) {
      $0.copyBytes(from: [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + bytes)
    }
    var mapped = SocketAddress()
    mapped.store(address)
    return mapped
  }

  mutating func withMutablePointer<R>(
    _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> R
  ) -> R {
    withUnsafeMutablePointer(to: &storage) { storage in
      storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &length) }
    }
  }
}

/// The resolvers other names go to, in the one family a forward's socket
/// has: IPv4 only, or IPv6 with the IPv4 ones mapped (dual-stack).
struct Upstreams {
  var family = AF_INET
  var addresses: [SocketAddress] = []

  init(_ texts: [String], excluding ours: [SocketAddress]) {
    var parsed: [SocketAddress] = []
    for text in texts {
      guard let address = SocketAddress(text, port: DNSResponder.port) else {
        DNSResponder.report("ignoring the invalid upstream address \(text)")
        continue
      }
      // Forwarding to ourselves would loop until the timeout.
      if ours.contains(where: { $0.samePeer(as: address) }) { continue }
      parsed.append(address)
    }
    if parsed.contains(where: { $0.family == AF_INET6 }) {
      let probe = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
      if probe >= 0 {
        close(probe)
        family = AF_INET6
        addresses = parsed.map(\.mappedToIPv6)
        return
      }
      DNSResponder.report("no IPv6 here: ignoring the IPv6 upstream resolvers")
    }
    addresses = parsed.filter { $0.family == AF_INET }
  }
}

/// A query sent on to the upstream resolvers, all at once: the first
/// useful answer goes back to the client. Its own socket (a random port)
/// and a fresh random ID make a forged answer hard to slip in.
struct Forward {
  let fd: Int32
  let listener: Int32
  let client: SocketAddress
  let clientID: UInt16
  let id: UInt16
  let question: [UInt8]
  let deadline: Int64
  /// Bits of the upstreams that have not answered yet.
  var waiting: UInt64 = 0
  /// A SERVFAIL or REFUSED answer, sent only if no better one comes.
  var fallback: [UInt8]?

  init?(
    packet: [UInt8], query: DNSQuery, listener: Int32, client: SocketAddress,
    upstreams: Upstreams, deadline: Int64
  ) {
    let type = SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue
    let fd = socket(upstreams.family, Int32(type), 0)
    guard fd >= 0 else { return nil }
    if upstreams.family == AF_INET6 {
      var off: Int32 = 0
      _ = setsockopt(
        fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
    }
    let id = UInt16.random(in: .min ... .max)
    var outgoing = packet
    outgoing[0] = UInt8(id >> 8)
    outgoing[1] = UInt8(id & 0xFF)
    for (index, upstream) in upstreams.addresses.prefix(64).enumerated() {
      var upstream = upstream
      let sent = outgoing.withUnsafeBytes { raw in
        upstream.withMutablePointer { pointer, length in
          sendto(fd, raw.baseAddress, raw.count, 0, pointer, length.pointee)
        }
      }
      if sent == outgoing.count { waiting |= 1 << UInt64(index) }
    }
    guard waiting != 0 else {
      close(fd)
      return nil
    }
    self.fd = fd
    self.listener = listener
    self.client = client
    self.clientID = query.id
    self.id = id
    self.question = query.question
    self.deadline = deadline
  }

  /// Reads the answers that arrived; true once one went to the client.
  mutating func receive(from upstreams: Upstreams, buffer: inout [UInt8]) -> Bool {
    while true {
      var source = SocketAddress()
      let count = buffer.withUnsafeMutableBytes { bytes in
        source.withMutablePointer { address, length in
          recvfrom(fd, bytes.baseAddress, bytes.count, 0, address, length)
        }
      }
      guard count >= 0 else { return false }
      let answer = Array(buffer[0..<count])
      guard
        let index = upstreams.addresses.prefix(64).firstIndex(where: {
          $0.samePeer(as: source)
        }),
        waiting & (1 << UInt64(index)) != 0, accepts(answer)
      else { continue }
      waiting &= ~(1 << UInt64(index))
      let rcode = answer[3] & 0x0F
      let failed = rcode == DNSRCode.serverFailure.rawValue || rcode == DNSRCode.refused.rawValue
      if failed && waiting != 0 {
        fallback = answer
        continue
      }
      deliver(answer)
      return true
    }
  }

  /// An answer to our query: our ID, QR set, and our question (its name
  /// compared without case, as some resolvers randomize it), if it has one.
  private func accepts(_ answer: [UInt8]) -> Bool {
    guard answer.count >= 12, DNSMessage.uint16(answer, 0) == id, answer[2] & 0x80 != 0
    else { return false }
    if DNSMessage.uint16(answer, 4) == 0 { return true }
    guard answer.count >= 12 + question.count else { return false }
    let nameLength = question.count - 4
    for offset in 0..<question.count {
      let (mine, theirs) = (question[offset], answer[12 + offset])
      if offset < nameLength ? lowercased(mine) != lowercased(theirs) : mine != theirs {
        return false
      }
    }
    return true
  }

  private func lowercased(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
  }

  private func deliver(_ answer: [UInt8]) {
    var answer = answer
    answer[0] = UInt8(clientID >> 8)
    answer[1] = UInt8(clientID & 0xFF)
    DNSResponder.send(answer, from: listener, to: client)
  }

  /// The time is up: a SERVFAIL that did come beats the client's timeout.
  func expire() {
    if let fallback { deliver(fallback) }
  }
}

/// The records file, read again when its inode, size or mtime change
/// (the engine replaces it by rename, or rewrites it).
struct RecordsFile {
  let path: String
  var records = DNSRecords()
  private var stamp: [Int] = []

  init(path: String) {
    self.path = path
  }

  /// False once the file is gone: the engine ends us by deleting it.
  mutating func refresh() -> Bool {
    var st = stat()
    guard stat(path, &st) == 0 else {
      if errno == ENOENT || errno == ENOTDIR { return false }
      // Anything else may pass (the engine is mid-rename): keep serving.
      return !stamp.isEmpty
    }
    let now = [
      Int(st.st_dev), Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec),
      Int(st.st_mtim.tv_nsec),
    ]
    guard now != stamp else { return true }
    guard let text = Self.readText(path) else {
      if errno == ENOENT { return false }
      DNSResponder.report("cannot read the records file \(path): \(DNSResponder.errorText())")
      return !stamp.isEmpty
    }
    stamp = now
    records = DNSRecords(parsing: text)
    for line in records.invalidLines {
      DNSResponder.report("\(path) line \(line): not ADDRESS NAME..., ignored")
    }
    return true
  }

  private static func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    // A bound: a runaway file must not eat the host's memory.
    while bytes.count < 16 << 20 {
      let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      if count < 0 { return nil }
      if count == 0 { break }
      bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

extension UInt32 {
  /// The bytes of a value kept in network order (s_addr), first to last.
  fileprivate var storedBytes: [UInt8] {
    withUnsafeBytes(of: self) { Array($0) }
  }
}
