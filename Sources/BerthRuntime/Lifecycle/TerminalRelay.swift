import BerthSystem
import CBerth
import Glibc
import SystemPackage

/// Set by SIGWINCH: our terminal's size changed.
nonisolated(unsafe) private var windowChanged: sig_atomic_t = 0

/// A foreground `run` whose process has a terminal and no --console-socket
/// relays between our stdio and the container's pty, as runc does: stdin
/// in raw mode when it is a terminal, the window size copied across at
/// the start and on every SIGWINCH. Only single-threaded processes call
/// this (berth-runtime, berth-monitor exec): it installs a signal handler.
public enum TerminalRelay {
  public static func run(master: Int32) {
    var saved = termios()
    let isTTY = isatty(0) == 1
    // SIGWINCH stays blocked except inside ppoll, so a resize between the
    // flag's check and the wait still wakes the wait.
    var winch = sigset_t()
    sigemptyset(&winch)
    sigaddset(&winch, SIGWINCH)
    var previousMask = sigset_t()
    if isTTY {
      tcgetattr(0, &saved)
      var raw = saved
      cfmakeraw(&raw)
      tcsetattr(0, TCSANOW, &raw)
      signal(SIGWINCH) { _ in windowChanged = 1 }
      sigprocmask(SIG_BLOCK, &winch, &previousMask)
      copySize(to: master)
    }
    defer {
      if isTTY {
        tcsetattr(0, TCSANOW, &saved)
        sigprocmask(SIG_SETMASK, &previousMask, nil)
      }
    }
    var fds = [
      pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
      pollfd(fd: master, events: Int16(POLLIN), revents: 0),
    ]
    var buffer = [UInt8](repeating: 0, count: 16384)
    var stdinOpen = true
    while true {
      fds[0].fd = stdinOpen ? 0 : -1
      if windowChanged != 0 {
        windowChanged = 0
        copySize(to: master)
      }
      let n = isTTY ? berth_ppoll_unblocking(&fds, 2, SIGWINCH) : poll(&fds, 2, -1)
      if n < 0 {
        if currentErrno == .interrupted { continue }
        return
      }
      if fds[1].revents != 0 {
        let got = read(master, &buffer, buffer.count)
        // EIO: every process closed the pty slave, the container is done.
        if got <= 0 { return }
        _ = try? FileDescriptor(rawValue: 1).writeFully(buffer[0..<got], what: "stdout")
      }
      if stdinOpen && fds[0].revents != 0 {
        let got = read(0, &buffer, buffer.count)
        if got <= 0 {
          stdinOpen = false
          continue
        }
        _ = try? FileDescriptor(rawValue: master).writeFully(
          buffer[0..<got], what: "the container's pty")
      }
    }
  }

  /// Our terminal's window size onto the container's pty (whose
  /// foreground processes then get their own SIGWINCH).
  static func copySize(to master: Int32) {
    var size = winsize()
    if ioctl(0, UInt(TIOCGWINSZ), &size) == 0 {
      try? Terminal.setSize(master, rows: size.ws_row, cols: size.ws_col)
    }
  }
}
