// One connection: HTTP/1 requests in, responses out; an attach request
// takes the connection over as a raw stream (docker's hijack), after which
// the HTTP codec is removed from the pipeline.
import BerthSystem
import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1
import SystemPackage

struct APIRequest: Sendable {
  var method: HTTPMethod
  /// The path without the `/v1.NN` prefix.
  var path: String
  var query: [String: String]
  /// Every value of each key (`names=a&names=b`).
  var repeated: [String: [String]] = [:]
  var headers: HTTPHeaders
  var body: [UInt8]
  /// The version the client asked for (from the prefix), or the newest.
  var version: String
  /// Its minor number (41 of 1.41), by which behaviours differ.
  var minorVersion: Int { version.split(separator: ".").last.flatMap { Int($0) } ?? 47 }
  /// A tar body (load, build, archive PUT), spooled to disk as it came.
  var spooled: SpooledBody? = nil

  func flag(_ name: String) -> Bool {
    guard let value = query[name] else { return false }
    return value == "1" || value.lowercased() == "true"
  }

  /// `?h=ROWS&w=COLUMNS` of a container's or an exec's resize.
  func terminalSize() throws(BerthError) -> (rows: UInt16, columns: UInt16) {
    guard let rows = query["h"].flatMap({ UInt16($0) }),
      let columns = query["w"].flatMap({ UInt16($0) })
    else {
      throw BerthError(
        .invalidArgument, "invalid resize: h and w must be numbers of rows and columns",
        hint: "send ?h=ROWS&w=COLUMNS")
    }
    return (rows, columns)
  }
}

enum APIResponse {
  case body(HTTPResponseStatus, [UInt8], contentType: String)
  case empty(HTTPResponseStatus)
  /// Headers now, the body when `body` (run on the pool) returns: docker
  /// clients wait for a /wait's headers before they start the container.
  case deferred(HTTPResponseStatus, contentType: String, body: @Sendable () -> [UInt8])
  /// Headers now (`headers` added), then what `produce` writes (on the
  /// pool) until it returns, the client's pace setting ours: tars, stats.
  /// No `produce`: no body (HEAD).
  case stream(
    HTTPResponseStatus, contentType: String, headers: [(String, String)],
    produce: (@Sendable (ResponseBody) -> Void)?)
  /// The connection becomes a raw stream driven by `stream`.
  case hijack(any HijackedStream)

  /// A stream with no extra headers: `logs -f`, events, pull progress.
  static func streaming(
    _ status: HTTPResponseStatus, contentType: String,
    produce: @escaping @Sendable (ResponseBody) -> Void
  ) -> APIResponse {
    .stream(status, contentType: contentType, headers: [], produce: produce)
  }

  static func json(_ status: HTTPResponseStatus, _ bytes: [UInt8]) -> APIResponse {
    .body(status, bytes, contentType: "application/json")
  }

  static func text(_ status: HTTPResponseStatus, _ text: String, contentType: String)
    -> APIResponse
  {
    .body(status, Array(text.utf8), contentType: contentType)
  }
}

final class APIHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  /// JSON bodies are held in memory; docker's are a few KiB.
  static let maxBody = 16 << 20
  /// Tar bodies go to a file, up to this size.
  static let maxSpooledBody: Int64 = 64 << 30

  let state: ServiceState
  let encoder: HTTPResponseEncoder
  let decoder: ByteToMessageHandler<HTTPRequestDecoder>
  var head: HTTPRequestHead?
  var body: [UInt8] = []
  var spool: SpooledBody?
  var tooLarge = false

  init(
    state: ServiceState, encoder: HTTPResponseEncoder,
    decoder: ByteToMessageHandler<HTTPRequestDecoder>
  ) {
    self.state = state
    self.encoder = encoder
    self.decoder = decoder
  }

  static func configure(_ channel: Channel, state: ServiceState) -> EventLoopFuture<Void> {
    let encoder = HTTPResponseEncoder()
    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
    let handler = APIHandler(state: state, encoder: encoder, decoder: decoder)
    return channel.pipeline.addHandlers([encoder, decoder, handler])
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let head):
      self.head = head
      body = []
      spool = nil
      tooLarge = false
      if SpooledBody.wanted(head) {
        do {
          spool = try SpooledBody(directory: state.spoolDirectory)
        } catch {
          write(context, .json(.internalServerError, Router.errorBody("\(error)")), head)
          self.head = nil
          return
        }
      }
      // An upgrade without a body (docker's attach) gets no end from the
      // decoder, the rest being another protocol: it is answered now. One
      // with a body (docker's exec start) is answered at its end: answered
      // now, a body still unread when the stream took over became stdin.
      if head.headers["Upgrade"].first != nil && !Self.hasBody(head) { dispatch(context, head) }
    case .body(var buffer):
      // Past a limit, the rest is read and dropped until the end.
      if tooLarge { return }
      if let spool {
        // Written on the event loop: a page-cache write, and the client
        // cannot send faster than the disk takes it anyway.
        if spool.size + Int64(buffer.readableBytes) > Self.maxSpooledBody {
          tooLarge = true
        } else if !buffer.withUnsafeReadableBytes({ spool.append($0) }) {
          tooLarge = true
        }
      } else if body.count + buffer.readableBytes > Self.maxBody {
        tooLarge = true
      } else if let bytes = buffer.readBytes(length: buffer.readableBytes) {
        body += bytes
      }
    case .end:
      guard let head else { return }
      self.head = nil
      if tooLarge {
        let limit = spool == nil ? "\(Self.maxBody >> 20) MiB" : "\(Self.maxSpooledBody >> 30) GiB"
        spool = nil
        write(
          context,
          .json(
            .payloadTooLarge,
            Router.errorBody("request body too large: the limit for this endpoint is \(limit)")),
          head)
        return
      }
      dispatch(context, head)
    }
  }

  /// Whether a body follows the head (a length above zero, or chunks).
  static func hasBody(_ head: HTTPRequestHead) -> Bool {
    head.headers["Transfer-Encoding"].contains { $0.lowercased().contains("chunked") }
      || head.headers["Content-Length"].contains { (Int($0) ?? 0) > 0 }
  }

  /// Runs the request on the pool (the engine blocks) and writes its response.
  func dispatch(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
    self.head = nil
    var request = Router.request(head, body: body)
    request.spooled = spool
    spool = nil
    let state = self.state
    let handled = request
    let future = state.run(on: context.eventLoop) {
      Router.handle(handled, state: state)
    }
    future.whenComplete { result in
      let response: APIResponse
      switch result {
      case .success(let value): response = value
      case .failure(let error):
        response = .json(.internalServerError, Router.errorBody("\(error)"))
      }
      self.write(context, response, head)
    }
  }

  func write(
    _ context: ChannelHandlerContext, _ response: APIResponse, _ request: HTTPRequestHead
  ) {
    var headers = HTTPHeaders()
    headers.add(name: "Api-Version", value: Router.apiVersion)
    headers.add(name: "Docker-Experimental", value: "false")
    headers.add(name: "Ostype", value: "linux")
    headers.add(name: "Server", value: "Berth")
    let keepAlive = request.isKeepAlive
    switch response {
    case .body(let status, let bytes, let type):
      headers.add(name: "Content-Type", value: type)
      headers.add(name: "Content-Length", value: "\(bytes.count)")
      let head = HTTPResponseHead(
        version: request.version, status: status, headers: headers)
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      if request.method != .HEAD {
        context.write(
          wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bytes)))),
          promise: nil)
      }
      finish(context, keepAlive: keepAlive)
    case .empty(let status):
      headers.add(name: "Content-Length", value: "0")
      context.write(
        wrapOutboundOut(
          .head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
        promise: nil)
      finish(context, keepAlive: keepAlive)
    case .deferred(let status, let type, let body):
      headers.add(name: "Content-Type", value: type)
      context.writeAndFlush(
        wrapOutboundOut(
          .head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
        promise: nil)
      let allocator = context.channel.allocator
      state.run(on: context.eventLoop, body).whenComplete { result in
        Trace.mark("api: deferred answer \(request.uri)")
        if case .success(let bytes) = result {
          context.write(
            self.wrapOutboundOut(.body(.byteBuffer(allocator.buffer(bytes: bytes)))), promise: nil)
        }
        self.finish(context, keepAlive: keepAlive)
      }
    case .stream(let status, let type, let extra, let produce):
      headers.add(name: "Content-Type", value: type)
      for (name, value) in extra { headers.add(name: name, value: value) }
      if produce == nil { headers.add(name: "Content-Length", value: "0") }
      context.writeAndFlush(
        wrapOutboundOut(
          .head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
        promise: nil)
      guard let produce, request.method != .HEAD else {
        finish(context, keepAlive: keepAlive)
        return
      }
      let body = ResponseBody(channel: context.channel)
      state.run(on: context.eventLoop) { produce(body) }.whenComplete { _ in
        self.finish(context, keepAlive: keepAlive)
      }
    case .hijack(let stream):
      // Written by hand once the codec is gone: NIO's encoder would frame
      // a length-less 200 as chunked, and the stream is raw from here on.
      let upgrade = request.headers["Upgrade"].first != nil
      var text =
        upgrade
        ? "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        : "HTTP/1.1 200 OK\r\n"
      let type =
        stream.tty
        ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
      text += "Content-Type: \(type)\r\nApi-Version: \(Router.apiVersion)\r\n\r\n"
      let channel = context.channel
      channel.pipeline.removeHandler(encoder).flatMap {
        channel.pipeline.removeHandler(self.decoder)
      }.flatMap {
        channel.pipeline.removeHandler(self)
      }.flatMap {
        channel.pipeline.addHandler(RawStreamHandler(stream: stream))
      }.flatMap {
        channel.writeAndFlush(channel.allocator.buffer(string: text))
      }.whenComplete { result in
        if case .failure(let error) = result {
          FileDescriptorOutput.standardError("attach: \(error)\n")
          channel.close(promise: nil)
          return
        }
        stream.begin(channel: channel)
      }
    }
  }

  func finish(_ context: ChannelHandlerContext, keepAlive: Bool) {
    let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    if !keepAlive {
      let channel = context.channel
      done.whenComplete { _ in channel.close(promise: nil) }
    }
  }
}

/// A streamed response's body, written from a pool thread.
final class ResponseBody: Sendable {
  let channel: Channel

  init(channel: Channel) { self.channel = channel }

  /// Whether the client is still connected.
  var isOpen: Bool { channel.isActive }

  /// `emit(bytes)` in the producers that stream JSON lines.
  func callAsFunction(_ bytes: [UInt8]) { write(bytes[...]) }

  /// Sends `bytes`; waits while the client reads slower than we write (so a
  /// large tar is never held in memory); false once the client is gone.
  @discardableResult
  func write(_ bytes: ArraySlice<UInt8>) -> Bool {
    guard channel.isActive else { return false }
    let sent = channel.writeAndFlush(
      HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))))
    if !channel.isWritable {
      // A client that stops reading: wait for it, but not forever (a pool
      // thread is held meanwhile); after 60 s it is hung up on, which
      // fails the write and ends the wait.
      let channel = self.channel
      let watchdog = channel.eventLoop.scheduleTask(in: .seconds(60)) {
        channel.close(promise: nil)
      }
      defer { watchdog.cancel() }
      do { try sent.wait() } catch { return false }
    }
    return true
  }

  /// Copies `fd` to the client until its end; false if the client went away.
  func copy(from fd: Int32) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let got = read(fd, &buffer, buffer.count)
      if got < 0 && currentErrno == .interrupted { continue }
      // A read error is a truncated tar: not a success.
      if got < 0 { return false }
      if got == 0 { return true }
      if !write(buffer[0..<got]) { return false }
    }
  }
}

/// After a hijack: what the client sends is the container's stdin.
final class RawStreamHandler: ChannelInboundHandler, @unchecked Sendable {
  typealias InboundIn = ByteBuffer
  let stream: any HijackedStream

  init(stream: any HijackedStream) { self.stream = stream }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var buffer = unwrapInboundIn(data)
    if let bytes = buffer.readBytes(length: buffer.readableBytes) { stream.stdin(bytes) }
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? ChannelEvent, event == .inputClosed { stream.stdinClosed() }
  }

  func channelInactive(context: ChannelHandlerContext) { stream.clientGone() }
}

/// A file of the service's on disk (a request's tar body, or an image
/// tar being sent), removed when the last holder goes.
final class SpooledBody: @unchecked Sendable {
  let path: String
  let fd: Int32
  private(set) var size: Int64 = 0

  /// The endpoints whose bodies are tars: image load, build, archive PUT.
  static func wanted(_ head: HTTPRequestHead) -> Bool {
    let path = head.uri.split(separator: "?", maxSplits: 1).first ?? ""
    switch head.method {
    case .POST: return path.hasSuffix("/images/load") || path.hasSuffix("/build")
    case .PUT: return path.hasSuffix("/archive")
    default: return false
    }
  }

  init(directory: String) throws(BerthError) {
    try mkdirAll(directory, mode: 0o700)
    // A random name opened O_EXCL|O_CLOEXEC: mkstemp's fd would be
    // inheritable until fcntl, and this process spawns monitors meanwhile.
    let name = directory + "/body." + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    let fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw .system("create \(name) for a request body", currentErrno)
    }
    self.fd = fd
    path = name
  }

  /// False when the disk refused the bytes.
  func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard (try? FileDescriptor(rawValue: fd).writeAll(bytes)) != nil else { return false }
    size += Int64(bytes.count)
    return true
  }

  deinit {
    close(fd)
    unlink(path)
  }
}
