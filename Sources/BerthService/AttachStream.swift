// An attach hijack: the client's connection on one side, the container
// monitor's attach socket (its frames) on the other. docker attaches
// before it starts the container, so the monitor's side may arrive later,
// when /start hands over the connection `startContainer(attach:)` gives.
// Output goes to the client raw (tty) or in docker's multiplexed frames
// (an 8-byte header: stream, 0, 0, 0, big-endian length).
import BerthEngine
import BerthMonitor
import BerthSystem
import Glibc
import NIOCore
import Synchronization
import SystemPackage

/// What a hijacked connection relays: a container's attach socket, or an
/// exec's pipes.
protocol HijackedStream: AnyObject, Sendable {
  var tty: Bool { get }
  func begin(channel: Channel)
  func stdin(_ bytes: [UInt8])
  func stdinClosed()
  func clientGone()
}

final class AttachStream: HijackedStream, @unchecked Sendable {
  let containerID: String
  let tty: Bool
  let wantStdin: Bool
  let wantStdout: Bool
  let wantStderr: Bool
  let state: ServiceState
  // Synchronization's Mutex: a pthread_mutex_t stored in a class and
  // passed by `&` has no stable address in Swift's rules.
  private let lock = Mutex<Void>(())
  private var socket: Int32 = -1
  private var channel: Channel?
  private var pendingStdin: [UInt8] = []
  private var stdinEnded = false
  private var pumping = false

  init(
    containerID: String, tty: Bool, stdin: Bool, stdout: Bool, stderr: Bool, state: ServiceState
  ) {
    self.containerID = containerID
    self.tty = tty
    wantStdin = stdin
    wantStdout = stdout
    wantStderr = stderr
    self.state = state
  }

  private func locked<T>(_ body: () -> T) -> T {
    lock.withLock { _ in body() }
  }

  /// The monitor's side is ready.
  func connect(socket: Int32) {
    let ready = locked { () -> Bool in
      self.socket = socket
      if !pendingStdin.isEmpty { send(.stdin, pendingStdin) }
      pendingStdin = []
      if stdinEnded { send(.closeStdin, []) }
      return channel != nil && !pumping
    }
    if ready { startPump() }
  }

  /// The client's side is ready (the response head is out).
  func begin(channel: Channel) {
    let ready = locked { () -> Bool in
      self.channel = channel
      return socket >= 0 && !pumping
    }
    if ready { startPump() }
  }

  func stdin(_ bytes: [UInt8]) {
    guard wantStdin else { return }
    locked {
      if socket >= 0 { send(.stdin, bytes) } else { pendingStdin += bytes }
    }
  }

  func stdinClosed() {
    locked {
      if socket >= 0 { send(.closeStdin, []) } else { stdinEnded = true }
    }
  }

  func clientGone() {
    locked {
      if socket >= 0 && !pumping {
        close(socket)
        socket = -1
      }
    }
  }

  private func send(_ kind: FrameKind, _ payload: [UInt8]) {
    _ = try? FileDescriptor(rawValue: socket).writeFully(
      AttachFrame.encode(kind, payload), what: "attach")
  }

  private func startPump() {
    locked { pumping = true }
    _ = state.run(on: channel!.eventLoop) { self.pump() }
  }

  /// Monitor frames → the client, until the exit frame.
  private func pump() {
    guard let channel = locked({ channel }) else { return }
    let fd = locked { socket }
    var buffer = [UInt8](repeating: 0, count: 65536)
    var frames: [UInt8] = []
    loop: while true {
      let got = read(fd, &buffer, buffer.count)
      if got < 0 && currentErrno == .interrupted { continue }
      if got <= 0 { break }
      frames += buffer[0..<got]
      for (kind, payload) in AttachFrame.decode(&frames) {
        switch kind {
        case .stdout where wantStdout, .stderr where wantStderr:
          var out = channel.allocator.buffer(capacity: payload.count + 8)
          if !tty {
            out.writeBytes([kind == .stdout ? 1 : 2, 0, 0, 0])
            out.writeInteger(UInt32(payload.count), endianness: .big)
          }
          out.writeBytes(payload)
          channel.writeAndFlush(out, promise: nil)
        case .exit:
          state.recordExit(containerID, Int32(String(decoding: payload, as: UTF8.self)) ?? 125)
          break loop
        default: break
        }
      }
    }
    locked {
      close(socket)
      socket = -1
    }
    channel.close(promise: nil)
  }
}

/// An attach with nothing live to relay (`stream=0`): the bytes it was
/// given (past output, or none), then the end of the connection.
final class ReplayStream: HijackedStream, @unchecked Sendable {
  let tty: Bool
  let bytes: [UInt8]

  init(tty: Bool, bytes: [UInt8]) {
    self.tty = tty
    self.bytes = bytes
  }

  func begin(channel: Channel) {
    var out = channel.allocator.buffer(capacity: bytes.count)
    out.writeBytes(bytes)
    channel.writeAndFlush(out).whenComplete { _ in channel.close(promise: nil) }
  }

  func stdin(_ bytes: [UInt8]) {}
  func stdinClosed() {}
  func clientGone() {}
}
