// Waiting for a container to change state without polling blind: the
// monitor records each change by renaming a new status.json into the
// container's run directory, so an inotify watch on that directory wakes
// a waiter as soon as the container exits (a 20 ms sleep loop cost `docker
// run` 10 ms on average). The watch is made before the caller's first
// look at the state, so no change falls between the look and the wait.
//
// Each thread keeps one inotify instance for good and only adds and
// removes watches on it: closing an instance that had a watch waits for
// the kernel's fsnotify SRCU grace period (8 to 16 ms here), and the
// service's wait answered that much later than the container went.
import BerthMonitor
import BerthSystem
import Glibc
import Synchronization

public final class ExitWatch: @unchecked Sendable {
  private let fd: Int32
  private let directory: String
  private var descriptor: Int32 = -1
  /// On the directory's parent, until the directory is there.
  private var parentDescriptor: Int32 = -1

  /// Watches `id`'s run directory; without inotify the waits sleep.
  public convenience init(_ engine: Engine, id: String) {
    self.init(directory: engine.runDirectory(id))
  }

  public init(directory: String) {
    fd = Self.threadInstance()
    self.directory = directory
    // Events left by an earlier watch on this thread's instance.
    if fd >= 0 { _ = readEvents() }
    _ = startWatching()
  }

  deinit {
    // Removing a watch only queues its mark for the kernel's reaper.
    if descriptor >= 0 { inotify_rm_watch(fd, descriptor) }
    if parentDescriptor >= 0 { inotify_rm_watch(fd, parentDescriptor) }
  }

  /// inotify instances by thread: a pool thread lives as long as the
  /// service, the CLI has one thread that waits.
  private static let instances = Mutex<[pthread_t: Int32]>([:])

  private static func threadInstance() -> Int32 {
    let thread = pthread_self()
    return instances.withLock { instances in
      if let fd = instances[thread] { return fd }
      let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
      if fd >= 0 { instances[thread] = fd }
      return fd
    }
  }

  /// The directory appears at the first start: until then, its parent is
  /// watched for it (`docker run` waits before it starts).
  private func startWatching() -> Bool {
    guard fd >= 0, descriptor < 0 else { return false }
    let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF)
    descriptor = inotify_add_watch(fd, directory, mask)
    if descriptor >= 0 {
      if parentDescriptor >= 0 {
        inotify_rm_watch(fd, parentDescriptor)
        parentDescriptor = -1
      }
      return true
    }
    if parentDescriptor < 0 {
      parentDescriptor = inotify_add_watch(
        fd, parentPath(directory), UInt32(IN_CREATE | IN_MOVED_TO))
    }
    return false
  }

  /// Returns after the status changes, the directory goes or appears, or
  /// `milliseconds`. A start writes half a dozen other files there, and
  /// each wake is a database read beside the start it slows.
  public func wait(milliseconds: Int32) {
    if descriptor < 0 {
      // A watch made just now may have missed a change: look again first.
      if startWatching() { return }
      if parentDescriptor < 0 {
        usleep(UInt32(min(milliseconds, 10)) * 1000)
        return
      }
    }
    let deadline = monotonicMilliseconds() + Int64(max(milliseconds, 0))
    while true {
      let left = Int32(clamping: max(deadline - monotonicMilliseconds(), 0))
      var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      if poll(&entry, 1, left) <= 0 || readEvents() || left == 0 { return }
    }
  }

  /// Reads the pending events; true when one matters to a waiter.
  private func readEvents() -> Bool {
    var buffer = [UInt8](repeating: 0, count: 4096)
    var matters = false
    while true {
      let got = read(fd, &buffer, buffer.count)
      guard got > 0 else { return matters }
      buffer.withUnsafeBytes { raw in
        var offset = 0
        while offset + MemoryLayout<inotify_event>.size <= got {
          let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
          let nameStart = offset + MemoryLayout<inotify_event>.size
          offset = nameStart + Int(event.len)
          if Self.matters(event, name: raw[nameStart..<min(offset, got)], directory: descriptor) {
            matters = true
          }
        }
      }
    }
  }

  /// The status file (renamed in, or removed), the directory itself going,
  /// anything on the parent's watch (the directory appearing) or a lost
  /// event.
  private static func matters(
    _ event: inotify_event, name: Slice<UnsafeRawBufferPointer>, directory: Int32
  )
    -> Bool
  {
    let whole = UInt32(IN_DELETE_SELF | IN_IGNORED | IN_Q_OVERFLOW)
    if event.mask & whole != 0 || event.wd != directory { return true }
    // The name is NUL-padded.
    let bytes = name.prefix { $0 != 0 }
    return bytes.elementsEqual(RunFiles.status.utf8)
  }
}
