// `docker exec -t`: the service opens a pty and gives its slave to
// `berth-monitor exec` as stdin, stdout and stderr with a terminal asked
// for. The monitor gets the container's own pty (the process's
// controlling terminal, in the container's devpts) and relays it to ours,
// raw, as it does for `berth exec -t` in a user's terminal; we relay our
// master to the client unframed. A resize sets our pty's size and signals
// the monitor SIGWINCH (by pidfd, so never another process), which copies
// the size onto the container's pty.
import BerthEngine
import BerthSystem
import Glibc
import NIOCore
import Synchronization
import SystemPackage

final class ExecTerminalStream: HijackedStream, @unchecked Sendable {
  let record: ExecRecord
  let state: ServiceState
  let tty = true
  // Synchronization's Mutex: a pthread_mutex_t stored in a class and
  // passed by `&` has no stable address in Swift's rules.
  private let lock = Mutex<Void>(())
  private var master: Int32 = -1
  /// The monitor relaying the exec, while it runs.
  private var monitor: Int32 = -1

  init(record: ExecRecord, state: ServiceState) {
    self.record = record
    self.state = state
  }

  private func locked<T>(_ body: () -> T) -> T {
    lock.withLock { _ in body() }
  }

  func begin(channel: Channel) {
    let pair: (master: Int32, slave: Int32)
    do {
      pair = try Self.openPty()
    } catch {
      FileDescriptorOutput.standardError("exec: \(error)\n")
      channel.close(promise: nil)
      return
    }
    locked { master = pair.master }
    if let size = record.consoleSize, size.count == 2, size[0] > 0, size[1] > 0 {
      try? Terminal.setSize(pair.master, rows: size[0], cols: size[1])
    }
    record.terminal = self
    record.running = true
    let record = self.record
    let state = self.state
    _ = state.run(on: channel.eventLoop) {
      var request = record.request
      request.tty = true
      request.stdio = [pair.slave, pair.slave, pair.slave]
      request.started = { pid in
        let fd = pidfdOpen(pid)
        self.locked { self.monitor = fd }
      }
      let code = (try? state.engine().exec(record.containerID, request)) ?? 126
      self.locked {
        if self.monitor >= 0 { close(self.monitor) }
        self.monitor = -1
      }
      // The code is in place before our last slave fd goes: that ends the
      // relay, and the client asks for the code next.
      record.exitCode = code
      record.running = false
      record.terminal = nil
      close(pair.slave)
    }
    _ = state.run(on: channel.eventLoop) {
      self.relay(pair.master, to: channel)
      self.locked {
        close(self.master)
        self.master = -1
      }
      channel.close(promise: nil)
    }
  }

  /// A pty pair from the host's devpts; both ends close-on-exec (the
  /// slave reaches the monitor by dup2 only).
  static func openPty() throws(BerthError) -> (master: Int32, slave: Int32) {
    let ptmx = try check("cannot open /dev/ptmx", hint: "the service needs the host's /dev/pts") {
      open("/dev/ptmx", O_PATH | O_CLOEXEC)
    }
    defer { close(ptmx) }
    return try Terminal.openPair(ptmx: ptmx)
  }

  /// Master → client until every slave fd is gone (read fails with EIO).
  private func relay(_ fd: Int32, to channel: Channel) {
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let got = read(fd, &buffer, buffer.count)
      if got < 0 && currentErrno == .interrupted { continue }
      if got <= 0 { return }
      channel.writeAndFlush(channel.allocator.buffer(bytes: buffer[0..<got]), promise: nil)
    }
  }

  func resize(rows: UInt16, columns: UInt16) throws(BerthError) {
    guard rows > 0, columns > 0 else { return }
    // Under the lock: neither fd is closed (and its number reused) meanwhile.
    try lock.withLock { (_) throws(BerthError) in
      guard master >= 0 else { return }
      try Terminal.setSize(master, rows: rows, cols: columns)
      if monitor >= 0 { _ = pidfdSendSignal(monitor, SIGWINCH) }
    }
  }

  func stdin(_ bytes: [UInt8]) {
    locked {
      guard master >= 0 else { return }
      _ = try? FileDescriptor(rawValue: master).writeFully(bytes, what: "the exec's pty")
    }
  }

  /// A terminal has no end of input of its own; the process ends the session.
  func stdinClosed() {}

  /// The client left: a terminal hangup, so the process gets SIGHUP (the
  /// monitor passes it on) rather than running on with no one attached.
  func clientGone() {
    locked { if monitor >= 0 { _ = pidfdSendSignal(monitor, SIGHUP) } }
  }
}
