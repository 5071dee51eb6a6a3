import Glibc
import SystemPackage

/// Starting helper programs (hooks, newuidmap, busctl, ps, fuse-overlayfs)
/// with posix_spawn: nothing of ours runs in the child, so this is safe
/// from any process, single-threaded runtime or multithreaded engine alike.
public enum ChildProcess {
  /// Where a child's stdin, stdout or stderr comes from.
  public enum Stream: Sendable {
    case inherit
    /// An fd of ours (close-on-exec is fine: it is dup2'ed onto the target).
    case fd(Int32)
    /// A file opened in the child with these flags.
    case file(String, Int32)
  }

  /// Starts `args` and returns its pid. The program is `path`, or args[0]
  /// when no path is given (then it is a path, not looked up in PATH).
  /// `extraFDs` become the child's fds 3, 4, ... in order (-1: closed).
  public static func spawn(
    _ args: [String], path: String? = nil, env: [String]? = nil, stdin: Stream = .inherit,
    stdout: Stream = .inherit,
    stderr: Stream = .inherit, extraFDs: [Int32] = []
  ) throws(BerthError) -> pid_t {
    // The child's dup2s run in order, so a source fd that is also the
    // target of an earlier one (say the fds to become 3 and 4 are 4 and 3)
    // would be overwritten before its turn: such sources are copied above
    // the targets first, and the copies closed once the child has started.
    let firstFree = Int32(3 + extraFDs.count)
    var copies: [Int32] = []
    defer { for fd in copies { close(fd) } }
    func safe(_ fd: Int32, target: Int32) throws(BerthError) -> Int32 {
      guard fd >= 3, fd < firstFree, fd != target else { return fd }
      let copy = try check("cannot move fd \(fd) for \(path ?? args[0])") {
        fcntl(fd, F_DUPFD_CLOEXEC, firstFree)
      }
      copies.append(copy)
      return copy
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for (index, fd) in extraFDs.enumerated() where fd >= 0 {
      let target = Int32(3 + index)
      posix_spawn_file_actions_adddup2(&actions, try safe(fd, target: target), target)
    }
    for (target, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
      switch stream {
      case .inherit: break
      case .fd(let fd):
        posix_spawn_file_actions_adddup2(&actions, try safe(fd, target: target), target)
      case .file(let path, let flags):
        posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o600)
      }
    }
    // Default dispositions: an ignored SIGPIPE of ours must not reach a hook.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // No blocked signals either: a thread of ours may block some, and a
    // monitor would pass the mask on to the container it starts.
    var all = sigset_t()
    var none = sigset_t()
    sigfillset(&all)
    sigemptyset(&none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    let argv = args.map { strdup($0) } + [nil]
    let envp = (env ?? currentEnvironment()).map { strdup($0) } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let program = path ?? args[0]
    let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw .system("cannot run \(program)", Errno(rawValue: result))
    }
    return pid
  }

  /// Runs `args` to completion; returns the exit code (128+N for signal N).
  public static func run(
    _ args: [String], path: String? = nil, env: [String]? = nil, stdin: Stream = .inherit,
    stdout: Stream = .inherit, stderr: Stream = .inherit
  ) throws(BerthError) -> Int32 {
    let pid = try spawn(args, path: path, env: env, stdin: stdin, stdout: stdout, stderr: stderr)
    return exitCode(fromWaitStatus: try waitForExit(pid))
  }

  /// Runs `args` to completion; returns the exit code and what it wrote on
  /// stdout (and stderr, with `mergeStderr`). Its stdin is /dev/null, or
  /// `input`, written whole before any output is read: for a child that
  /// reads all of its input first, or input a socket buffer holds. A child
  /// that exits without reading it fails the write instead of raising
  /// SIGPIPE here; that error is thrown only when the child succeeded.
  public static func capture(
    _ args: [String], path: String? = nil, input: [UInt8]? = nil, mergeStderr: Bool = false
  ) throws(BerthError) -> (status: Int32, output: String) {
    let (readEnd, writeEnd) = try makePipe()
    defer { Glibc.close(readEnd) }
    var feed: (ours: Int32, theirs: Int32)? = nil
    let pid: pid_t
    do throws(BerthError) {
      defer {
        Glibc.close(writeEnd)
        if let feed { Glibc.close(feed.theirs) }
      }
      if input != nil { feed = try socketPair() }
      pid = try spawn(
        args, path: path, stdin: feed.map { .fd($0.theirs) } ?? .file("/dev/null", O_RDONLY),
        stdout: .fd(writeEnd), stderr: mergeStderr ? .fd(writeEnd) : .inherit)
    } catch {
      if let feed { Glibc.close(feed.ours) }
      throw error
    }
    var inputError: BerthError? = nil
    if let feed, let input {
      inputError = sendAll(feed.ours, input, what: "cannot pass the input of \(args[0])")
      Glibc.close(feed.ours)
    }
    let bytes = try FileDescriptor(rawValue: readEnd).readToEnd(
      what: "cannot read the output of \(args[0])")
    let status = exitCode(fromWaitStatus: try waitForExit(pid))
    if status == 0, let inputError { throw inputError }
    return (status, String(decoding: bytes, as: UTF8.self))
  }

  /// Writes `bytes` whole to a stream socket, without SIGPIPE.
  static func sendAll(_ fd: Int32, _ bytes: [UInt8], what: String) -> BerthError? {
    var sent = 0
    while sent < bytes.count {
      let count = bytes[sent...].withUnsafeBytes {
        send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if count < 0 {
        if currentErrno == .interrupted { continue }
        return .system(what, currentErrno)
      }
      sent += count
    }
    return nil
  }
}
