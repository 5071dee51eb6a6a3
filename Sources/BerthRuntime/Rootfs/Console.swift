import BerthSystem
import CBerth
import Glibc

/// The container's terminal: a pty from the container's own devpts, the
/// master sent to the caller through --console-socket, the slave bound on
/// /dev/console and made the process's stdio.
enum Console {
  /// Allocates the pty (before pivot_root) and returns the slave fd.
  static func setUp(
    root: RootFS, socketFD: Int32, size: (rows: UInt16, cols: UInt16)?, bindConsole: Bool
  ) throws(BerthError) -> Int32 {
    let ptmx = try root.open("/dev/pts/ptmx", flags: O_PATH, noSymlinks: true)
    defer { close(ptmx) }
    let (master, slave) = try Terminal.openPair(ptmx: ptmx)
    defer { close(master) }
    if let size { try Terminal.setSize(slave, rows: size.rows, cols: size.cols) }
    if bindConsole {
      // The image may plant /dev/console as a symlink (to /proc/sysrq-trigger,
      // say): whatever is there is replaced by a fresh empty file created
      // with O_EXCL in the in-root /dev, and opened without following links
      // (CVE-2025-52565 class). The source is the verified pty slave.
      let dev = try root.mkdirAll("/dev")
      _ = unlinkat(dev, "console", 0)
      let created = openat(
        dev, "console", O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
      close(dev)
      if created < 0 { throw .system("cannot create /dev/console", currentErrno) }
      close(created)
      let console = try root.open("/dev/console", flags: O_PATH | O_NOFOLLOW, noSymlinks: true)
      defer { close(console) }
      try mount(
        source: procFDPath(slave), target: procFDPath(console), type: nil, flags: UInt(MS_BIND),
        describe: "the pty on /dev/console")
    }
    try Terminal.send(master: master, over: socketFD, name: "/dev/console")
    return slave
  }

  /// Makes the slave the controlling terminal and stdio of this process.
  static func attach(slave: Int32) throws(BerthError) {
    try check("cannot make the pty the controlling terminal") { berth_set_ctty(slave) }
    for fd in Int32(0)...2 {
      try check("cannot use the pty as fd \(fd)") { dup2(slave, fd) }
    }
    if slave > 2 { close(slave) }
  }
}
