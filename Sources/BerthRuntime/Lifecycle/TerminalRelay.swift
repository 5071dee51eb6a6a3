import BerthSystem
import Glibc
import SystemPackage

/// A foreground `run` whose process has a terminal and no --console-socket
/// relays between our stdio and the container's pty, as runc does: stdin
/// in raw mode when it is a terminal, the window size copied across.
public enum TerminalRelay {
  public static func run(master: Int32) {
    var saved = termios()
    let isTTY = isatty(0) == 1
    if isTTY {
      tcgetattr(0, &saved)
      var raw = saved
      cfmakeraw(&raw)
      tcsetattr(0, TCSANOW, &raw)
      var size = winsize()
      if ioctl(0, UInt(TIOCGWINSZ), &size) == 0 {
        try? Terminal.setSize(master, rows: size.ws_row, cols: size.ws_col)
      }
    }
    defer { if isTTY { tcsetattr(0, TCSANOW, &saved) } }
    var fds = [
      pollfd(fd: 0, events: Int16(POLLIN), revents: 0),
      pollfd(fd: master, events: Int16(POLLIN), revents: 0),
    ]
    var buffer = [UInt8](repeating: 0, count: 16384)
    var stdinOpen = true
    while true {
      fds[0].fd = stdinOpen ? 0 : -1
      let n = poll(&fds, 2, -1)
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
}
