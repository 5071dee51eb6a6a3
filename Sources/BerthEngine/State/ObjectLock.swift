// Per-object locks: an flock on a file per container or volume under the
// run root. The kernel drops them when a process dies, so a killed command
// never leaves anything locked. Waits are bounded.
import BerthSystem
import Glibc

public final class ObjectLock {
  let fd: Int32

  /// Takes the lock on `path`, waiting up to `timeout` seconds.
  public init(_ path: String, what: String, timeout: Double = 30) throws(BerthError) {
    fd = try check("cannot open the lock \(path)") {
      open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    }
    let deadline = monotonicMilliseconds() + Int64(timeout * 1000)
    var delay: UInt32 = 200
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let error = currentErrno
      guard error == .wouldBlock || error == .interrupted else {
        close(fd)
        throw .system("cannot lock \(what)", error)
      }
      if monotonicMilliseconds() > deadline {
        close(fd)
        throw BerthError(
          .timeout, "\(what) stayed locked for \(Int(timeout)) s",
          hint: "another berth command is working on it")
      }
      usleep(delay)
      delay = min(delay * 2, 50_000)
    }
  }

  deinit { close(fd) }
}
