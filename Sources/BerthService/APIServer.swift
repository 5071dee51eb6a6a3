// `berth system service`: the Docker Engine API on a unix socket (or, when
// asked, TCP), served by swift-nio's HTTP/1 server. Every request runs on
// a thread pool with an Engine of its own while it runs (ServiceState.run),
// as a `berth` command would: the engine's calls block (database, locks,
// monitors), the event loop must not. The
// service starts monitors by posix_spawn through the engine, never by
// fork; containers outlive it. With `idle` seconds and no connection for
// that long, it exits (0: never).
import BerthEngine
import BerthImage
import BerthSystem
import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

public struct APIServer: Sendable {
  public var root: String?
  public var runRoot: String?
  /// Seconds without a connection before exiting; 0 = never.
  public var idleSeconds: Int
  /// berth's version, reported by /version and /info.
  public var version: String

  public init(root: String?, runRoot: String?, idleSeconds: Int, version: String) {
    self.root = root
    self.runRoot = runRoot
    self.idleSeconds = idleSeconds
    self.version = version
  }

  /// The default socket: /run/berth/berth.sock as root, else
  /// $XDG_RUNTIME_DIR/berth/berth.sock in a 0700 directory.
  public static func defaultSocket() -> String {
    if geteuid() == 0 { return "/run/berth/berth.sock" }
    let runtime = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) } ?? "/tmp/berth-\(getuid())"
    return runtime + "/berth/berth.sock"
  }

  /// Serves until idle (or forever). `address` is a socket path, `unix://PATH`
  /// or `tcp://HOST:PORT`; `inheritedFD` a listening socket from systemd.
  public func run(address: String, inheritedFD: Int32?) throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    // Waits (container wait, attach) hold a thread each for their length.
    let pool = NIOThreadPool(numberOfThreads: 32)
    pool.start()
    let state = ServiceState(server: self, pool: pool)
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 256)
      // docker half-closes an attach connection when it sends no stdin: the
      // output must keep flowing.
      .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
      .childChannelInitializer { channel in
        state.connectionOpened()
        channel.closeFuture.whenComplete { _ in state.connectionClosed() }
        return APIHandler.configure(channel, state: state)
      }
    let channel: Channel
    if let inheritedFD {
      channel = try bootstrap.withBoundSocket(inheritedFD).wait()
    } else if address.hasPrefix("tcp://") {
      let hostPort = address.dropFirst(6).split(separator: ":")
      guard hostPort.count == 2, let port = Int(hostPort[1]) else {
        throw BerthError(
          .invalidArgument, "invalid address \(address)", hint: "use tcp://HOST:PORT")
      }
      FileDescriptorOutput.standardError(
        "warning: the API on \(address) gives whoever connects root on this host\n")
      channel = try bootstrap.bind(host: String(hostPort[0]), port: port).wait()
    } else {
      let path = address.hasPrefix("unix://") ? String(address.dropFirst(7)) : address
      let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
      if !directory.isEmpty {
        try mkdirAll(directory, mode: geteuid() == 0 ? 0o755 : 0o700)
      }
      unlink(path)
      channel = try bootstrap.bind(unixDomainSocketPath: path).wait()
      chmod(path, geteuid() == 0 ? 0o660 : 0o600)
    }
    if idleSeconds > 0 {
      channel.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
        if state.idleFor() >= Double(idleSeconds) { channel.close(promise: nil) }
      }
    }
    try channel.closeFuture.wait()
    try? pool.syncShutdownGracefully()
    try? group.syncShutdownGracefully()
  }
}

/// What the connections share: the pool, open connections for the idle
/// timer, attach streams waiting for their container's start, exit codes.
final class ServiceState: @unchecked Sendable {
  let server: APIServer
  let pool: NIOThreadPool
  // Synchronization's Mutex: a pthread_mutex_t stored in a class and
  // passed by `&` has no stable address in Swift's rules.
  private let lock = Mutex<Void>(())
  private var connections = 0
  private var lastActivity = Date()
  private var pendingAttaches: [String: [AttachStream]] = [:]
  private var exitCodes: [String: Int32] = [:]
  private var execs: [String: ExecRecord] = [:]

  /// Where tar bodies are spooled: on the store's disk, not the run tmpfs.
  let spoolDirectory: String

  init(server: APIServer, pool: NIOThreadPool) {
    self.server = server
    self.pool = pool
    spoolDirectory =
      (server.root ?? ContentStore.defaultRoot(rootless: geteuid() != 0)) + "/tmp/api-bodies"
  }

  func locked<T>(_ body: () -> T) -> T {
    lock.withLock { _ in body() }
  }

  /// Engines in use by the pool threads running work now, and the idle
  /// ones. Opening one (the store, the database) costs about a millisecond;
  /// an engine is not shared between threads at once, so each piece of pool
  /// work (`run`) takes the last idle one on its first `engine()` and gives
  /// it back when done. NIO's pool hands work to its 32 threads in turn: an
  /// engine per thread was opened again by each of a new service's first
  /// 32 requests.
  private var engines: [pthread_t: Engine] = [:]
  private var idleEngines: [Engine] = []

  /// Runs `body` on the pool, its engine given back when it returns.
  func run<T: Sendable>(on eventLoop: EventLoop, _ body: @escaping @Sendable () throws -> T)
    -> EventLoopFuture<T>
  {
    pool.runIfActive(eventLoop: eventLoop) { [self] in
      defer { releaseEngine() }
      return try body()
    }
  }

  private func releaseEngine() {
    let thread = pthread_self()
    locked {
      if let engine = engines.removeValue(forKey: thread) { idleEngines.append(engine) }
    }
  }

  /// The engine of the work running on this thread.
  func engine() throws(BerthError) -> Engine {
    let thread = pthread_self()
    let bound = locked { () -> Engine? in
      if let engine = engines[thread] { return engine }
      guard let idle = idleEngines.popLast() else { return nil }
      engines[thread] = idle
      return idle
    }
    if let bound { return bound }
    let engine = try Engine(root: server.root, runRoot: server.runRoot)
    locked { engines[thread] = engine }
    return engine
  }

  func connectionOpened() { locked { connections += 1 } }

  func connectionClosed() {
    locked {
      connections -= 1
      lastActivity = Date()
    }
  }

  func idleFor() -> Double {
    locked { connections > 0 ? 0 : Date().timeIntervalSince(lastActivity) }
  }

  func addPendingAttach(_ id: String, _ stream: AttachStream) {
    locked { pendingAttaches[id, default: []].append(stream) }
  }

  func takePendingAttaches(_ id: String) -> [AttachStream] {
    locked { pendingAttaches.removeValue(forKey: id) ?? [] }
  }

  func addExec(_ record: ExecRecord) { locked { execs[record.id] = record } }
  func exec(_ id: String) -> ExecRecord? { locked { execs[id] } }

  func recordExit(_ id: String, _ code: Int32) { locked { exitCodes[id] = code } }
  func exitCode(_ id: String) -> Int32? { locked { exitCodes[id] } }
}

enum FileDescriptorOutput {
  static func standardError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
  }
}
