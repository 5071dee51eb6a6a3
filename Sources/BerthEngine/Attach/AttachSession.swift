// The client end of a monitor's attach socket: our stdin goes in as
// frames, the container's stdout and stderr come out on ours, and the
// last frame is the exit code. With a terminal, stdin is put in raw mode
// and the detach keys (ctrl-p ctrl-q by default) leave the container
// running.
import BerthMonitor
import BerthSystem
import Glibc
import SystemPackage

public struct AttachOptions: Sendable {
  public var stdin = false
  public var tty = false
  public var detachKeys: [UInt8] = [0x10, 0x11]
  /// Forward SIGINT/SIGTERM/... to this pid (the container's init).
  public var proxySignalsTo: pid_t = 0
  /// `-a STDOUT`/`-a STDERR`: the streams shown (both by default).
  public var stdout = true
  public var stderr = true
  /// Where the output goes instead of our stdout and stderr (the API's
  /// build stream); `stderr` says which stream it came on.
  public var output: (@Sendable (_ stderr: Bool, _ bytes: [UInt8]) -> Void)?
  public init() {}

  /// "ctrl-p,ctrl-q" → bytes; "" disables detaching.
  public static func parseDetachKeys(_ text: String) throws(BerthError) -> [UInt8] {
    if text.isEmpty { return [] }
    var keys: [UInt8] = []
    for part in text.split(separator: ",") {
      if part.hasPrefix("ctrl-"), part.count == 6, let scalar = part.last?.asciiValue {
        let base = scalar >= 97 && scalar <= 122 ? scalar - 96 : nil
        let other: [UInt8: UInt8] = [64: 0, 91: 27, 92: 28, 93: 29, 94: 30, 95: 31]
        guard let value = base ?? other[scalar] else {
          throw BerthError(.invalidArgument, "invalid detach key \"\(part)\"")
        }
        keys.append(value)
      } else if part.count == 1, let ascii = part.first?.asciiValue {
        keys.append(ascii)
      } else {
        throw BerthError(
          .invalidArgument, "invalid detach keys \"\(text)\"", hint: "use e.g. ctrl-p,ctrl-q")
      }
    }
    return keys
  }
}

public enum AttachResult: Sendable, Equatable {
  case exited(Int32)
  case detached
  /// The monitor went away without an exit frame.
  case lost
}

/// A pidfd of the container's init: signals go to that process or, once
/// it is gone (a restart makes another), nowhere; never to a reused pid.
nonisolated(unsafe) var attachSignalTarget: Int32 = -1

public enum AttachSession {
  public static func run(socket: Int32, options: AttachOptions) -> AttachResult {
    var saved = termios()
    let rawMode = options.tty && options.stdin && isatty(0) == 1
    if rawMode {
      tcgetattr(0, &saved)
      var raw = saved
      cfmakeraw(&raw)
      tcsetattr(0, TCSANOW, &raw)
    }
    defer { if rawMode { tcsetattr(0, TCSANOW, &saved) } }
    if options.tty {
      var size = winsize()
      if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 || ioctl(0, UInt(TIOCGWINSZ), &size) == 0 {
        send(socket, .resize, Array("\(size.ws_row) \(size.ws_col)".utf8))
      }
    }
    if options.proxySignalsTo > 0 && !options.tty {
      attachSignalTarget = pidfdOpen(options.proxySignalsTo)
      for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] {
        signal(sig) { received in
          if attachSignalTarget >= 0 { _ = pidfdSendSignal(attachSignalTarget, received) }
        }
      }
    }
    defer {
      let fd = attachSignalTarget
      attachSignalTarget = -1
      if fd >= 0 { close(fd) }
    }
    var stdinOpen = options.stdin
    var buffer = [UInt8](repeating: 0, count: 65536)
    var frames: [UInt8] = []
    var matched = 0
    while true {
      var fds = [
        pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
        pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0),
      ]
      if poll(&fds, 2, -1) < 0 {
        if currentErrno == .interrupted { continue }
        return .lost
      }
      if fds[0].revents != 0 {
        let got = read(socket, &buffer, buffer.count)
        if got <= 0 { return .lost }
        frames += buffer[0..<got]
        for (kind, payload) in AttachFrame.decode(&frames) {
          switch kind {
          case .stdout where options.stdout:
            if let output = options.output {
              output(false, payload)
            } else {
              _ = try? FileDescriptor(rawValue: 1).writeFully(payload, what: "stdout")
            }
          case .stderr where options.stderr:
            if let output = options.output {
              output(true, payload)
            } else {
              _ = try? FileDescriptor(rawValue: 2).writeFully(payload, what: "stderr")
            }
          case .exit: return .exited(Int32(String(decoding: payload, as: UTF8.self)) ?? 125)
          default: break
          }
        }
      }
      if stdinOpen && fds[1].revents != 0 {
        let got = read(0, &buffer, buffer.count)
        if got <= 0 {
          stdinOpen = false
          send(socket, .closeStdin, [])
          continue
        }
        var out: [UInt8] = []
        for byte in buffer[0..<got] {
          if options.tty && !options.detachKeys.isEmpty {
            if byte == options.detachKeys[matched] {
              matched += 1
              if matched == options.detachKeys.count { return .detached }
              continue
            }
            if matched > 0 {
              out += options.detachKeys[0..<matched]
              matched = 0
            }
          }
          out.append(byte)
        }
        if !out.isEmpty { send(socket, .stdin, out) }
      }
    }
  }

  static func send(_ socket: Int32, _ kind: FrameKind, _ payload: [UInt8]) {
    _ = try? FileDescriptor(rawValue: socket).writeFully(
      AttachFrame.encode(kind, payload), what: "attach")
  }
}

extension Engine {
  /// Sets a running container's terminal size (the API's resize): one
  /// resize frame on a connection of its own to the monitor.
  public func resizeTerminal(_ reference: String, rows: UInt16, columns: UInt16)
    throws(BerthError)
  {
    let (container, socket) = try attachConnection(reference)
    defer { close(socket) }
    guard try container.decodedConfig().tty else {
      throw BerthError(
        .invalidState, "container \(container.name) has no terminal to resize",
        hint: "resize applies to containers created with a tty (-t)")
    }
    try FileDescriptor(rawValue: socket).writeFully(
      AttachFrame.encode(.resize, Array("\(rows) \(columns)".utf8)), what: "resize")
  }

  /// Connects to a running container's attach socket.
  public func attachConnection(_ reference: String) throws(BerthError) -> (Container, Int32) {
    let container = try refresh(try lookup(reference).id)
    guard container.state == .running else {
      throw BerthError(
        .invalidState, "you can only attach to running containers",
        hint: "`berth start -a \(container.name)` starts and attaches")
    }
    return (
      container,
      try UnixSocket.connect(directory: runDirectory(container.id), name: RunFiles.attach)
    )
  }
}
