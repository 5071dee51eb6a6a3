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
    let now = monotonicMilliseconds()
    let last = lastStart.load(ordering: .relaxed)
    guard now - last > 25,
      lastStart.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
    else { return }
    guard geteuid() == 0 else { return }
    // Finding our cgroup reads and parses /proc/self/cgroup: there too.
    HelperThread.run {
      guard let path = ownCgroupProcs() else { return }
      let fd = open(path, O_WRONLY | O_CLOEXEC)
      guard fd >= 0 else { return }
      let pid = "\(getpid())"
      _ = pid.withCString { write(fd, $0, strlen($0)) }
      close(fd)
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
