import CBerth
import Glibc

public enum Terminal {
  /// Opens a new pty pair from the devpts instance at `ptmxFD`'s filesystem
  /// and returns (master, slave). The slave comes from TIOCGPTPEER, never a
  /// path, and is verified to be a pty slave device.
  public static func openPair(ptmx: Int32) throws(BerthError) -> (master: Int32, slave: Int32) {
    let master = try check("cannot open a pty master") {
      Glibc.open(procFDPath(ptmx), O_RDWR | O_NOCTTY | O_CLOEXEC)
    }
    let slave = berth_pty_peer(master)
    if slave < 0 {
      let errno = currentErrno
      Glibc.close(master)
      throw .system("cannot open the pty slave", errno)
    }
    do {
      try verifyPtySlave(slave)
    } catch {
      Glibc.close(master)
      Glibc.close(slave)
      throw error
    }
    return (master, slave)
  }

  /// A pty slave is a char device with a major of 136-143 (UNIX98 ptys).
  public static func verifyPtySlave(_ fd: Int32) throws(BerthError) {
    let st = try fileStatus(fd, what: "the pty slave")
    let m = major(st.st_rdev)
    guard (st.st_mode & S_IFMT) == S_IFCHR, (136...143).contains(m) else {
      throw BerthError(
        .permissionDenied, "the console is not a pty slave device (major \(m))",
        hint: "the container's devpts was tampered with")
    }
  }

  public static func setSize(_ fd: Int32, rows: UInt16, cols: UInt16) throws(BerthError) {
    try check("cannot set the terminal size") { berth_set_winsize(fd, rows, cols) }
  }

  /// Connects to the unix socket named by `--console-socket`.
  public static func connect(socketPath: String) throws(BerthError) -> Int32 {
    try UnixSocket.connect(
      socketPath, name: "console socket", hint: "the caller must listen on it before create")
  }

  /// Sends a pty master over a unix socket with SCM_RIGHTS, as runc does
  /// (the message is the pty's name).
  public static func send(master: Int32, over socket: Int32, name: String) throws(BerthError) {
    try check("cannot send the pty master over the console socket") {
      name.withCString { berth_send_fd(socket, master, $0, strlen($0)) }
    }
  }
}
