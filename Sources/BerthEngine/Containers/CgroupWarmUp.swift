// Moving a process into a cgroup takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell waits for an RCU grace period (rcu_sync; about 13 ms here) unless
// a hierarchy is mounted with `favordynmods`. Writers within a grace
// period of each other share one wait. So as `start` begins, a thread of
// the CLI moves the CLI into the cgroup it is already in (no change, one
// write): its grace period runs while the monitor starts, and the
// container's move into its own cgroup finds the lock's fast path warm or
// waits only for what is left.
import BerthRuntime
import BerthSystem
import Dispatch
import Glibc

enum CgroupWarmUp {
  static func start() {
    guard geteuid() == 0, let path = ownCgroupProcs() else { return }
    DispatchQueue.global().async {
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
