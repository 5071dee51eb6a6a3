// Moving a process into a cgroup takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell waits for an RCU grace period (rcu_sync; about 13 ms here) unless
// a hierarchy is mounted with `favordynmods`. Writers within a grace
// period of each other share one wait. So as `start` begins, a thread of
// the CLI moves the CLI into the cgroup it is already in (no change, one
// write): its grace period runs while the monitor starts, and the
// container's move into its own cgroup finds the lock's fast path warm or
// waits only for what is left.
//
// The write holds cgroup_mutex through its wait, so a cgroup mkdir (the
// monitor's, for the container) made meanwhile waits too: `run` starts the
// warm-up as early as it knows it will start a container (the API service
// at docker's create, which docker run follows with a start), which leaves
// the grace period done before the monitor's mkdir and still recent at its
// join. `start` finds it begun and starts no second one.
import BerthRuntime
import BerthSystem
import Glibc
import Synchronization

enum CgroupWarmUp {
  /// When the last warm-up began (monotonic ms). One begun less than
  /// 25 ms ago serves this start as well: its grace period is still under
  /// way or just over, and the kernel keeps the fast path for about 15 ms
  /// after a move.
  static let lastStart = Atomic<Int64>(0)

  static func start() {
    if keeping.load(ordering: .relaxed) { return }
    let now = monotonicMilliseconds()
    let last = lastStart.load(ordering: .relaxed)
    guard now - last > 25,
      lastStart.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
    else { return }
    guard geteuid() == 0 else { return }
    // Finding our cgroup reads and parses /proc/self/cgroup: there too.
    HelperThread.run {
      Trace.mark("cgroup warm-up: begin")
      if let path = ownCgroupProcs() { _ = moveSelf(into: path) }
      Trace.mark("cgroup warm-up: moved")
    }
  }

  /// Writes our pid to `procs`, our own cgroup's: a move that changes
  /// nothing but takes the lock. False when the file cannot be opened.
  static func moveSelf(into procs: String) -> Bool {
    let fd = open(procs, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    let pid = "\(getpid())"
    _ = pid.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    return true
  }

  /// Until when `keepWarm`'s thread repeats the move (monotonic ms), and
  /// whether it runs.
  static let warmUntil = Atomic<Int64>(0)
  static let keeping = Atomic<Bool>(false)

  /// The API service: docker's requests come milliseconds apart (create,
  /// attach, wait, start) and its runs tens of milliseconds apart, so a
  /// warm-up begun at create still held the cgroup mutex, 7 ms into its
  /// grace period, when the monitor made the container's cgroups. While
  /// containers start, a thread of the service repeats the move every 5 ms
  /// (through 250 ms after the last call): the lock stays on its fast path,
  /// and only the first start of a burst waits.
  static func keepWarm() {
    warmUntil.store(monotonicMilliseconds() + 250, ordering: .relaxed)
    guard geteuid() == 0,
      keeping.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
    else { return }
    HelperThread.run {
      defer { keeping.store(false, ordering: .relaxed) }
      guard let path = ownCgroupProcs() else { return }
      while monotonicMilliseconds() < warmUntil.load(ordering: .relaxed) {
        let began = monotonicMilliseconds()
        guard moveSelf(into: path) else { break }
        if monotonicMilliseconds() - began > 1 { Trace.mark("cgroup keep-warm: a move waited") }
        usleep(5000)
      }
    }
  }

  /// cgroup.procs of our own cgroup in the v1 pids hierarchy (or the v2 one).
  static func ownCgroupProcs() -> String? {
    let own = CgroupLayout.cgroupsOf()
    if let path = own["pids"] { return "/sys/fs/cgroup/pids\(path)/cgroup.procs" }
    if let path = own["cgroup2"], access("/sys/fs/cgroup/cgroup.procs", W_OK) == 0 {
      return "/sys/fs/cgroup\(path)/cgroup.procs"
    }
    return nil
  }
}
