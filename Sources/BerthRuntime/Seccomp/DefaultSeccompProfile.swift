import BerthOCI
import BerthSystem

/// A compact default profile with the shape of Docker's and Podman's: deny
/// by default (EPERM), allow the ordinary syscalls, restrict `personality`
/// and namespace-creating `clone`, and open the privileged groups only when
/// the container holds the capability that guards them. Syscalls this
/// libseccomp or architecture does not know are skipped when compiled.
public enum DefaultSeccompProfile {
  /// The profile for a container with `capabilities` (names such as
  /// "CAP_SYS_ADMIN", usually the bounding set).
  public static func profile(capabilities: [String]) -> Spec.Seccomp {
    let caps = Set(capabilities.map { $0.uppercased() })
    var rules = [Spec.Seccomp.Syscall(names: allowed, action: "SCMP_ACT_ALLOW")]
    // Only the personalities ordinary programs use (PER_LINUX, PER_LINUX32,
    // UNAME26, their mix, and the query 0xffffffff).
    for persona: UInt64 in [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff] {
      rules.append(
        Spec.Seccomp.Syscall(
          names: ["personality"], action: "SCMP_ACT_ALLOW",
          args: [Spec.Seccomp.Arg(index: 0, value: persona, op: "SCMP_CMP_EQ")]))
    }
    if caps.contains("CAP_SYS_ADMIN") {
      rules.append(Spec.Seccomp.Syscall(names: ["clone", "clone3"], action: "SCMP_ACT_ALLOW"))
    } else {
      // clone without namespace flags; clone3 hides its flags in memory,
      // so ENOSYS makes the C library fall back to clone.
      rules.append(
        Spec.Seccomp.Syscall(
          names: ["clone"], action: "SCMP_ACT_ALLOW",
          args: [
            Spec.Seccomp.Arg(
              index: cloneFlagsIndex, value: namespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")
          ]))
      rules.append(Spec.Seccomp.Syscall(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38))
    }
    for (cap, names) in byCapability where caps.contains(cap) {
      rules.append(Spec.Seccomp.Syscall(names: names, action: "SCMP_ACT_ALLOW"))
    }
    // Built as the values themselves: a JSON round trip through an
    // encodable copy of the profile cost each `run` about 1 ms.
    return Spec.Seccomp(
      defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: architectures,
      syscalls: rules)
  }

  /// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
  static let namespaceFlags: UInt64 = 0x7e02_0000

  #if arch(s390x)
    static let cloneFlagsIndex: UInt32 = 1  // s390 swaps clone's first two arguments
  #else
    static let cloneFlagsIndex: UInt32 = 0
  #endif

  /// The native architecture and the compat ones it can run.
  static var architectures: [String] {
    #if arch(x86_64)
      return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    #elseif arch(arm64)
      return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    #elseif arch(s390x)
      return ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
    #elseif arch(powerpc64le)
      return ["SCMP_ARCH_PPC64LE"]
    #else
      return []
    #endif
  }

  /// Syscalls a capability opens (the kernel still checks the capability).
  static let byCapability: [(String, [String])] = [
    (
      "CAP_SYS_ADMIN",
      [
        "bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
        "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
        "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2",
        "unshare",
      ]
    ),
    ("CAP_SYS_BOOT", ["reboot"]),
    ("CAP_SYS_CHROOT", ["chroot"]),
    ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
    ("CAP_SYS_PACCT", ["acct"]),
    (
      "CAP_SYS_PTRACE",
      ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev"]
    ),
    ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
    (
      "CAP_SYS_TIME",
      [
        "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
        "clock_adjtime64",
      ]
    ),
    ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
    ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
    ("CAP_SYSLOG", ["syslog"]),
    ("CAP_BPF", ["bpf"]),
    ("CAP_PERFMON", ["perf_event_open"]),
    ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
  ]

  /// Allowed for every container. Left out (EPERM): keyrings, kexec,
  /// modules, swap, mounts and namespaces, clock setting, io_uring,
  /// userfaultfd, and obsolete calls (uselib, ustat, sysfs, _sysctl, vm86).
  static let allowed = [
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl",
    "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32",
    "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "close", "close_range", "connect", "copy_file_range", "creat", "dup",
    "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat",
    "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
    "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd",
    "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
    "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32",
    "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday",
    "getuid", "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
    "io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc",
    "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr",
    "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
    "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
    "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify",
    "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
    "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
    "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat",
    "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv",
    "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "ptrace",
    "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
    "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity", "sched_getattr",
    "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32",
    "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer",
    "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
    "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
    "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socket", "socketcall", "socketpair",
    "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
  ]
}
