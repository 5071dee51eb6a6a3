// A short job on a thread of its own. Dispatch's global queues run on a
// pool of one thread per core, shared with all async code (the API
// service's requests, the CLI's async commands); a job that blocks in the
// kernel there (the cgroup warm-up waits out an RCU grace period, up to
// 13 ms) would hold back the next one.
import Glibc

enum HelperThread {
  /// Runs `job` on a new detached thread; if none can be made, here.
  static func run(_ job: @escaping @Sendable () -> Void) {
    let box = Unmanaged.passRetained(Job(job)).toOpaque()
    var thread = pthread_t()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    // Small jobs: a 256 KiB stack, not the 8 MiB default mapping.
    pthread_attr_setstacksize(&attributes, 256 << 10)
    let created = pthread_create(
      &thread, &attributes,
      { context in
        Unmanaged<Job>.fromOpaque(context!).takeRetainedValue().body()
        return nil
      }, box)
    if created != 0 {
      Unmanaged<Job>.fromOpaque(box).takeRetainedValue().body()
    }
  }

  final class Job: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
  }
}
