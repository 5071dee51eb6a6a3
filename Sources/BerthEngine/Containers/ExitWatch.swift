// Waiting for a container to change state without polling blind: the
// monitor records each change by renaming a new status.json into the
// container's run directory, so an inotify watch on that directory wakes
// a waiter as soon as the container exits (a 20 ms sleep loop cost `docker
// run` 10 ms on average). The watch is made before the caller's first
// look at the state, so no change falls between the look and the wait.
import BerthSystem
import Glibc

public final class ExitWatch: @unchecked Sendable {
  private let fd: Int32
  private let directory: String
  private var watching = false

  /// Watches `id`'s run directory; without inotify the waits sleep.
  public init(_ engine: Engine, id: String) {
    fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
    directory = engine.runDirectory(id)
    _ = startWatching()
  }

  deinit { if fd >= 0 { close(fd) } }

  /// The directory appears at the first start: until then, no watch.
  private func startWatching() -> Bool {
    guard fd >= 0, !watching else { return false }
    let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF)
    watching = inotify_add_watch(fd, directory, mask) >= 0
    return watching
  }

  /// Returns after a change in the directory or `milliseconds`.
  public func wait(milliseconds: Int32) {
    guard watching else {
      // A watch made just now may have missed a change: look again first.
      if startWatching() { return }
      usleep(UInt32(min(milliseconds, 10)) * 1000)
      return
    }
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    _ = poll(&entry, 1, milliseconds)
    var buffer = [UInt8](repeating: 0, count: 4096)
    while read(fd, &buffer, buffer.count) > 0 {}
  }
}
