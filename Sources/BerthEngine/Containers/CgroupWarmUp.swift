// Moving a process into a cgroup takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet
// spell waits for an RCU grace period (rcu_sync; about 13 ms here) unless
// a hierarchy is mounted with `favordynmods`. Writers within a grace
// period of each other share one wait. So as `start` begins, a thread of
// the CLI moves the CLI into the cgroup it is already in (no change, one
// write): its grace period runs while the monitor starts, and the
// container's move into its own cgroup finds the lock's fast path warm or
// waits only for what is left.
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
    guard let bytes = try? readFile("/proc/self/cgroup", limit: 1 << 16) else { return nil }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
      guard fields.count == 3 else { continue }
      if fields[1] == "pids" { return "/sys/fs/cgroup/pids\(fields[2])/cgroup.procs" }
      if fields[0] == "0" && fields[1].isEmpty && access("/sys/fs/cgroup/cgroup.procs", W_OK) == 0 {
        return "/sys/fs/cgroup\(fields[2])/cgroup.procs"
      }
    }
    return nil
  }
}
