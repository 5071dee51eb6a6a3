import BerthSystem
import CBerth
import Glibc

/// Creating, joining and removing a container's cgroups on the cgroupfs
/// driver. Limits (resources) are written by `CgroupResources`.
public enum Cgroups {
  /// Turns the spec's cgroupsPath into a path inside each hierarchy.
  /// Absolute paths are taken as they are; relative ones hang below the
  /// runtime's own cgroup; with the systemd driver, "slice:prefix:name"
  /// becomes /slice/prefix-name.scope as systemd would place it.
  public static func resolvePath(_ cgroupsPath: String?, id: String, systemd: Bool) -> (
    path: String, relative: Bool
  ) {
    let raw = cgroupsPath ?? ""
    if systemd
      || (raw.split(separator: ":", omittingEmptySubsequences: false).count == 3
        && !raw.hasPrefix("/"))
    {
      let parts = raw.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
      if parts.count == 3 {
        let slice = parts[0].isEmpty ? "system.slice" : parts[0]
        return ("/" + expandSlice(slice) + "/" + parts[1] + "-" + parts[2] + ".scope", false)
      }
      if raw.isEmpty { return ("/system.slice/berth-" + id + ".scope", false) }
    }
    if raw.isEmpty { return (id, true) }
    return (raw, !raw.hasPrefix("/"))
  }

  /// "a-b-c.slice" lives at a.slice/a-b.slice/a-b-c.slice.
  static func expandSlice(_ slice: String) -> String {
    guard slice.hasSuffix(".slice"), slice != "-.slice" else { return slice }
    let name = String(slice.dropLast(6))
    var path: [String] = []
    var prefix = ""
    for part in name.split(separator: "-") {
      prefix = prefix.isEmpty ? String(part) : prefix + "-" + part
      path.append(prefix + ".slice")
    }
    return path.joined(separator: "/")
  }

  /// Creates the container's directory in every hierarchy and returns them.
  /// When rootless, hierarchies we may not write are skipped, as runc does.
  public static func create(
    layout: CgroupLayout, path: String, relative: Bool, rootless: Bool
  ) throws(BerthError) -> [String] {
    let own = relative ? CgroupLayout.cgroupsOf() : [:]
    var dirs: [String] = []
    for hierarchy in layout.hierarchies {
      var inner = path
      if relative {
        let base = own[layout.key(of: hierarchy)] ?? "/"
        inner = (base == "/" ? "" : base) + "/" + path
      }
      // A hierarchy mounted from a subtree (inside a cgroup namespace)
      // shows that subtree at its mount point.
      if hierarchy.mountRoot != "/" && inner.hasPrefix(hierarchy.mountRoot) {
        inner = String(inner.dropFirst(hierarchy.mountRoot.count))
      }
      let dir = hierarchy.mountPoint + normalise(inner)
      do {
        try mkdirCgroup(dir, cpuset: hierarchy.controllers.contains("cpuset"))
        dirs.append(dir)
      } catch {
        if rootless && (error.code == .permissionDenied || error.cause == .readOnlyFileSystem) {
          continue
        }
        remove(dirs)
        throw error
      }
    }
    return dirs
  }

  static func normalise(_ path: String) -> String {
    "/" + path.split(separator: "/").joined(separator: "/")
  }

  /// mkdir -p, seeding cpuset.cpus/mems of each new v1 cpuset directory from
  /// its parent (an empty cpuset refuses tasks with ENOSPC). The leaf is
  /// tried first: its parents usually exist already. A directory that
  /// exists is seeded too when still empty: another container starting at
  /// the same moment may have made it and not yet written its cpuset.
  static func mkdirCgroup(_ dir: String, cpuset: Bool) throws(BerthError) {
    if mkdir(dir, 0o755) != 0 {
      switch currentErrno {
      case .fileExists: break
      case .noSuchFileOrDirectory:
        let parent = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
        guard !parent.isEmpty else { throw .system("cannot create cgroup \(dir)", currentErrno) }
        try mkdirCgroup(parent, cpuset: cpuset)
        if mkdir(dir, 0o755) != 0 && currentErrno != .fileExists {
          throw .system("cannot create cgroup \(dir)", currentErrno)
        }
      default:
        throw .system("cannot create cgroup \(dir)", currentErrno)
      }
    }
    if cpuset { seedCpuset(dir) }
  }

  /// Copies cpuset.cpus/mems into `dir` from its parent when empty, the
  /// parent first if it is still empty itself (made by a racing start).
  ///
  /// A fresh cpuset's load-balance flag is cleared first, while its cpus are
  /// still empty: with the flag set, writing cpus and the later rmdir each
  /// rebuild the kernel's scheduling domains (about 1 ms apiece, a tenth of a
  /// `run`). The flag of a cpuset below a load-balancing root changes nothing
  /// (cgroup-v1 cpusets.rst: the root's domain already spans every CPU).
  static func seedCpuset(_ dir: String, depth: Int = 0) {
    let parent = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
    for file in ["cpuset.cpus", "cpuset.mems"] {
      func value(_ path: String) -> String? {
        (try? readFile(path + "/" + file)).map { String(decoding: $0, as: UTF8.self).trimmed }
      }
      guard value(dir)?.isEmpty == true, !parent.isEmpty else { continue }
      if file == "cpuset.cpus" { try? writeKnob(dir + "/cpuset.sched_load_balance", "0") }
      if value(parent)?.isEmpty == true && depth < 16 { seedCpuset(parent, depth: depth + 1) }
      if let inherited = value(parent), !inherited.isEmpty {
        try? writeKnob(dir + "/" + file, inherited)
      }
    }
  }

  /// Moves `pid` into every directory.
  public static func join(_ dirs: [String], pid: pid_t) throws(BerthError) {
    for dir in dirs {
      try writeKnob(dir + "/cgroup.procs", "\(pid)")
    }
  }

  /// How a new process (a container's init, an exec'd process) gets into
  /// its cgroups. Moving a process by writing its pid to `cgroup.procs`
  /// write-locks the kernel's global cgroup_threadgroup_rwsem, and the
  /// first writer after a quiet spell waits for an RCU grace period (13 to
  /// 30 ms on this VM), holding cgroup_mutex, so every other cgroup
  /// operation on the host waits too. Two ways in take no such lock (Linux
  /// 5.17's "cgroup: Optimize single thread migration", and
  /// CLONE_INTO_CGROUP): a thread that moves itself by writing "0" to a v1
  /// hierarchy's `tasks`, and a child cloned straight into a cgroup2
  /// directory. The child is single-threaded when it does so, so the thread
  /// is the process. Older kernels take the lock as before: nothing is
  /// slower there. A child that cannot write the host's cgroup files (in a
  /// user namespace, rootless) or that systemd places is moved by its parent.
  public struct Join {
    /// The directories the parent moves the child into.
    var moved: [String]
    /// The v1 `tasks` files the child writes "0" to (`joinSelf`).
    public let tasks: [TasksFile]
    /// The cgroup2 directory to clone the child into, and its fd (-1 when
    /// there is none or it cannot be opened: the parent moves it then).
    let cgroup2: String?
    let cgroup2FD: Int32
    var clonedIntoCgroup2 = false

    /// Opens what the child needs, before the clone, when it joins by
    /// itself (`bySelf`); else the parent moves it into all of `dirs`.
    /// A directory's version is told by statfs.
    public init(_ dirs: [String], bySelf: Bool) throws(BerthError) {
      guard bySelf else {
        (moved, tasks, cgroup2, cgroup2FD) = (dirs, [], nil, -1)
        return
      }
      var v1: [String] = []
      var v2: String? = nil
      for dir in dirs {
        if berth_is_cgroup2(dir) == 1 { v2 = dir } else { v1.append(dir) }
      }
      tasks = try Cgroups.openTasks(v1)
      cgroup2 = v2
      cgroup2FD = v2.map { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) } ?? -1
      moved = []
    }

    /// clone(2) with fork semantics (berth_clone), straight into the
    /// cgroup2 directory when there is one; a kernel without clone3 or
    /// CLONE_INTO_CGROUP gets a plain clone, and `moveRest` moves it.
    public mutating func clone(flags: UInt64) -> pid_t {
      if cgroup2FD >= 0 {
        let pid = berth_clone_into_cgroup(flags, cgroup2FD)
        if pid >= 0 {
          clonedIntoCgroup2 = true
          return pid
        }
      }
      return berth_clone(flags)
    }

    /// The parent's part, after the clone: the directories the child does
    /// not join by itself.
    public func moveRest(_ pid: pid_t) throws(BerthError) {
      let dirs = moved + (clonedIntoCgroup2 ? [] : cgroup2.map { [$0] } ?? [])
      try Cgroups.join(dirs, pid: pid)
    }

    /// Closes the parent's copies of the files.
    public func close() {
      for file in tasks { Glibc.close(file.fd) }
      if cgroup2FD >= 0 { Glibc.close(cgroup2FD) }
    }
  }

  /// A v1 directory's `tasks`, opened by the parent before the clone (the
  /// path walks stay off the child's path; the kernel checks the opener's
  /// credentials) for the child to write "0" to.
  public struct TasksFile: Sendable {
    public var dir: String
    public var fd: Int32
  }

  /// Opens `tasks` of each directory, close-on-exec. Closes what it opened
  /// when one fails.
  static func openTasks(_ dirs: [String]) throws(BerthError) -> [TasksFile] {
    var files: [TasksFile] = []
    for dir in dirs {
      let fd = open(dir + "/tasks", O_WRONLY | O_CLOEXEC)
      guard fd >= 0 else {
        let error = BerthError.system("cannot open \(dir)/tasks", currentErrno)
        for file in files { close(file.fd) }
        throw error
      }
      files.append(TasksFile(dir: dir, fd: fd))
    }
    return files
  }

  /// The calling thread (a single-threaded process's only one) moves itself
  /// into each directory (`Join`), closing the files.
  public static func joinSelf(_ files: [TasksFile]) throws(BerthError) {
    var zero = UInt8(ascii: "0")
    for file in files {
      try check("cannot join cgroup \(file.dir)") { write(file.fd, &zero, 1) }
      close(file.fd)
    }
  }

  /// Removes the directories, retrying briefly while the kernel finishes
  /// tearing down exited tasks (rmdir gives EBUSY until then).
  /// The wait starts at half a millisecond and doubles up to 10 ms (about
  /// a second in all): a `run` that deletes right after the exit seldom
  /// needs more than the first.
  public static func remove(_ dirs: [String]) {
    for dir in dirs {
      var delay: UInt32 = 500
      var waited: UInt32 = 0
      while rmdir(dir) != 0 && currentErrno == .resourceBusy && waited < 1_000_000 {
        usleep(delay)
        waited += delay
        delay = min(delay * 2, 10_000)
      }
    }
  }

  /// The pids in the container's cgroup (the first hierarchy that has them).
  public static func pids(_ dirs: [String]) -> [pid_t] {
    for dir in dirs {
      guard let bytes = try? readFile(dir + "/cgroup.procs") else { continue }
      let pids = String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap {
        pid_t($0)
      }
      return pids
    }
    return []
  }

  public static func freezerDir(_ dirs: [String]) -> (dir: String, v2: Bool)? {
    if let v1 = dirs.first(where: { fileExists($0 + "/freezer.state") }) { return (v1, false) }
    if let v2 = dirs.first(where: { fileExists($0 + "/cgroup.freeze") }) { return (v2, true) }
    return nil
  }

  public static func isFrozen(_ dirs: [String]) -> Bool {
    guard let (dir, v2) = freezerDir(dirs) else { return false }
    let file = v2 ? "/cgroup.freeze" : "/freezer.state"
    guard let bytes = try? readFile(dir + file) else { return false }
    let value = String(decoding: bytes, as: UTF8.self).trimmed
    return v2 ? value == "1" : value == "FROZEN"
  }
}

extension Cgroups {
  /// Thaws a frozen cgroup so its processes can receive SIGKILL and exit.
  public static func thaw(_ dirs: [String]) {
    guard let (dir, v2) = freezerDir(dirs) else { return }
    if v2 {
      try? writeKnob(dir + "/cgroup.freeze", "0")
    } else {
      try? writeKnob(dir + "/freezer.state", "THAWED")
    }
  }
}
