// The config.json that `berth-runtime spec` writes: the same container runc's
// `spec` describes (busybox-friendly `sh`, a terminal, a read-only root), so
// tutorials written for runc work unchanged.

extension Spec {
  public static func runtimeDefault(rootless: Bool, uid: UInt32 = 0, gid: UInt32 = 0) -> Spec {
    let caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    var process = Process(
      terminal: true, user: User(uid: 0, gid: 0), args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: Capabilities(bounding: caps, effective: caps, permitted: caps),
      rlimits: [Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)], noNewPrivileges: true)
    process.consoleSize = nil
    var mounts: [Mount] = [
      Mount(destination: "/proc", type: "proc", source: "proc"),
      Mount(
        destination: "/dev", type: "tmpfs", source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
      Mount(
        destination: "/dev/pts", type: "devpts", source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
      Mount(
        destination: "/dev/shm", type: "tmpfs", source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
      Mount(
        destination: "/dev/mqueue", type: "mqueue", source: "mqueue",
        options: ["nosuid", "noexec", "nodev"]),
      Mount(
        destination: "/sys", type: "sysfs", source: "sysfs",
        options: ["nosuid", "noexec", "nodev", "ro"]),
      Mount(
        destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup",
        options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
    ]
    var linux = Linux(
      namespaces: ["pid", "network", "ipc", "uts", "mount", "cgroup"].map {
        Namespace(type: $0)
      })
    linux.maskedPaths = [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
      "/proc/scsi",
    ]
    linux.readonlyPaths = [
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]
    var resources = Resources()
    resources.devices = [Resources.DeviceRule(allow: false, access: "rwm")]
    linux.resources = resources

    if rootless {
      // As runc's `spec --rootless`: a user namespace mapping the caller to
      // root, no network or cgroup namespace the caller could not configure,
      // /sys bound from the host (sysfs needs a network namespace we own),
      // no gid= option that names an unmapped group, and no cgroup limits.
      linux.namespaces =
        (linux.namespaces ?? []).filter {
          $0.type != "network" && $0.type != "cgroup"
        } + [Namespace(type: "user")]
      linux.uidMappings = [IDMapping(containerID: 0, hostID: uid, size: 1)]
      linux.gidMappings = [IDMapping(containerID: 0, hostID: gid, size: 1)]
      linux.resources = nil
      mounts = mounts.compactMap { mount in
        var mount = mount
        if mount.destination == "/sys/fs/cgroup" { return nil }
        if mount.destination == "/sys" {
          return Mount(
            destination: "/sys", type: "none", source: "/sys",
            options: ["rbind", "nosuid", "noexec", "nodev", "ro"])
        }
        mount.options = mount.options?.filter { !$0.hasPrefix("gid=") && !$0.hasPrefix("uid=") }
        return mount
      }
    }
    return Spec(
      process: process, root: Root(path: "rootfs", readonly: true), hostname: "berth",
      mounts: mounts, linux: linux)
  }
}
