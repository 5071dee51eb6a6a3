// Moving a process into a cgroup takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell waits for an RCU grace period (rcu_sync; 13 to 30 ms on this VM)
// unless a hierarchy is mounted with `favordynmods`. Writers within a grace
// period of each other share one wait.
//
// A container's init mostly avoids that move (BerthRuntime's
// Cgroups.Join: it joins its v1 cgroups itself and is cloned into its
// cgroup2 one). An init with a user namespace cannot: its parent moves it.
// For those, as the start begins, a thread of the CLI moves the CLI into
// the cgroup it is already in (no change, one write): its grace period runs
// while the monitor starts, and the container's move finds the lock's fast
// path warm or waits only for what is left. The write holds cgroup_mutex
// through its wait, so it is made only when such a move follows: every
// other cgroup operation (the container's mkdirs among them) waits for it.
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
