import BerthOCI
import BerthSystem
import CBerth
import Glibc

/// Performs the spec's mounts inside the new mount namespace, before
/// pivot_root. Each destination is resolved in the rootfs by fd and the
/// mount is made onto /proc/self/fd/N, so a symlink planted in the image
/// can never redirect a mount onto the host.
struct SpecMounts {
  let root: RootFS
  let inUserNamespace: Bool
  let cgroupNamespace: Bool
  let cgroupPaths: [String]
  /// The host's cgroup mounts, read once by the runtime before clone.
  let cgroupLayout: CgroupLayout

  func mountAll(_ mounts: [Spec.Mount]) throws(BerthError) {
    for mount in mounts { try mountOne(mount) }
  }

  func mountOne(_ m: Spec.Mount) throws(BerthError) {
    let dest = m.destination.hasPrefix("/") ? m.destination : "/" + m.destination
    var options = MountOptions.parse(m.options ?? [])
    let type = m.type ?? (options.isBind ? "bind" : "none")
    if type == "bind" { options.isBind = true }

    if type == "proc" || type == "sysfs" {
      try refuseSymlinkedProcOrSys(dest, type: type)
    }

    if options.isBind {
      try bindMount(m, dest: dest, options: options)
    } else if type == "cgroup" || type == "cgroup2" {
      try mountCgroup(dest, options: options)
    } else {
      let target = try root.ensureDirectory(dest)
      defer { close(target) }
      let flags = options.flags
      do throws(BerthError) {
        try mount(
          source: m.source ?? type, target: procFDPath(target), type: type, flags: flags,
          data: options.dataString, describe: "\(type) on \(dest)")
      } catch  where type == "sysfs" && inUserNamespace && error.cause == .notPermitted {
        // sysfs needs a network namespace owned by our user namespace;
        // without one, bind the host's /sys read-only as runc does.
        try bindMount(
          Spec.Mount(destination: dest, type: "bind", source: "/sys"), dest: dest,
          options: MountOptions.parse(["rbind", "nosuid", "noexec", "nodev", "ro"]))
        return
      } catch  where type == "mqueue" && inUserNamespace && error.cause == .notPermitted {
        try bindMount(
          Spec.Mount(destination: dest, type: "bind", source: "/dev/mqueue"), dest: dest,
          options: MountOptions.parse(["rbind", "nosuid", "noexec", "nodev"]))
        return
      }
      try applyPropagation(dest, options)
    }
  }

  /// /proc and /sys must be real directories in the rootfs: a symlink
  /// there (CVE-2019-19921, CVE-2023-27561) would let procfs land elsewhere.
  func refuseSymlinkedProcOrSys(_ dest: String, type: String) throws(BerthError) {
    do throws(BerthError) {
      let fd = try root.open(dest, flags: O_PATH | O_DIRECTORY, noSymlinks: true)
      close(fd)
    } catch  where error.cause == .noSuchFileOrDirectory {
      return  // made as a directory when mounted
    } catch {
      throw BerthError(
        .permissionDenied,
        "refusing to mount \(type) on \(dest): it is a symlink or not a directory in the rootfs",
        hint: "the image must have a plain directory at \(dest)", cause: error.cause)
    }
  }

  func bindMount(_ m: Spec.Mount, dest: String, options: MountOptions) throws(BerthError) {
    guard let source = m.source else {
      throw BerthError(.invalidArgument, "bind mount on \(dest) has no source")
    }
    let sourceFD = try check(
      "cannot open bind mount source \(source)",
      hint: "the source of a bind mount must exist on the host"
    ) { open(source, O_PATH | O_CLOEXEC) }
    defer { close(sourceFD) }
    let st = try fileStatus(sourceFD, what: source)
    let isDir = (st.st_mode & S_IFMT) == S_IFDIR
    let target = try isDir ? root.ensureDirectory(dest) : root.ensureFile(dest)
    var flags = UInt(MS_BIND)
    if options.isRecursive { flags |= UInt(MS_REC) }
    try mount(
      source: procFDPath(sourceFD), target: procFDPath(target), type: nil, flags: flags,
      describe: "\(source) on \(dest)")
    close(target)
    let wanted = options.flags & ~UInt(MS_REMOUNT)
    if wanted != 0 {
      try remountBind(dest, flags: wanted, sourcePath: procFDPath(sourceFD))
    }
    if options.isRecursive && wanted & UInt(MS_RDONLY) != 0 {
      // "rbind,ro" must make the mounts below read-only too: a bind of
      // /sys would otherwise leave /sys/fs/cgroup writable (CVE-2023-25809).
      let mounted = try root.open(dest)
      defer { close(mounted) }
      try check("cannot make \(dest) and the mounts below it read-only") {
        berth_make_tree_readonly(procFDPath(mounted))
      }
    }
    try applyPropagation(dest, options)
  }

  /// Applies ro/nosuid/... to a bind mount. In a user namespace the kernel
  /// locks the flags the source mount had, so those are kept.
  func remountBind(_ dest: String, flags: UInt, sourcePath: String) throws(BerthError) {
    let mounted = try root.open(dest)
    defer { close(mounted) }
    let base = UInt(MS_BIND | MS_REMOUNT)
    do throws(BerthError) {
      try mount(
        source: nil, target: procFDPath(mounted), type: nil, flags: base | flags,
        describe: "remount of \(dest)")
    } catch  where error.cause == .notPermitted {
      let locked = mountFlags(ofPath: sourcePath)
      try mount(
        source: nil, target: procFDPath(mounted), type: nil, flags: base | flags | locked,
        describe: "remount of \(dest)")
    }
  }

  func applyPropagation(_ dest: String, _ options: MountOptions) throws(BerthError) {
    guard options.propagation != 0 else { return }
    let mounted = try root.open(dest)
    defer { close(mounted) }
    try mount(
      source: nil, target: procFDPath(mounted), type: nil, flags: options.propagation,
      describe: "propagation of \(dest)")
  }

  /// cgroup v2 hosts get cgroup2; v1 hosts a tmpfs with one mount per
  /// hierarchy. Inside a cgroup namespace the hierarchies are mounted
  /// afresh (showing the container's cgroup as root); without one, the
  /// container's own cgroup directories are bind-mounted.
  func mountCgroup(_ dest: String, options: MountOptions) throws(BerthError) {
    let layout = cgroupLayout
    let flags = options.flags & ~UInt(MS_RDONLY)
    let readOnly = options.flags & UInt(MS_RDONLY) != 0
    let target = try root.ensureDirectory(dest)
    defer { close(target) }
    if layout.isUnified {
      do throws(BerthError) {
        try mount(
          source: "cgroup2", target: procFDPath(target), type: "cgroup2",
          flags: options.flags, describe: "cgroup2 on \(dest)")
      } catch  where error.cause == .notPermitted || error.cause == .resourceBusy {
        try bindMount(
          Spec.Mount(
            destination: dest, type: "bind", source: cgroupPaths.first ?? "/sys/fs/cgroup"),
          dest: dest, options: MountOptions.parse(["rbind"] + (readOnly ? ["ro"] : [])))
      }
      return
    }
    try mount(
      source: "tmpfs", target: procFDPath(target), type: "tmpfs", flags: flags,
      data: "mode=755", describe: "tmpfs for cgroups on \(dest)")
    // With the systemd driver the directories exist only once systemd
    // moved us; the host's /proc (still mounted) tells where we are.
    let hostDirs =
      cgroupPaths.isEmpty
      ? SystemdScope.directories(of: CgroupLayout.cgroupsOf(), layout: layout) : cgroupPaths
    for hierarchy in layout.hierarchies {
      let name = String(hierarchy.mountPoint.split(separator: "/").last ?? "unified")
      let sub = dest + "/" + name
      let subFD = try root.ensureDirectory(sub)
      defer { close(subFD) }
      let hostDir = hostDirs.first { $0.hasPrefix(hierarchy.mountPoint + "/") }
      if cgroupNamespace {
        let type = hierarchy.isV2 ? "cgroup2" : "cgroup"
        let data = hierarchy.isV2 ? "" : hierarchy.controllers.joined(separator: ",")
        try mount(
          source: "cgroup", target: procFDPath(subFD), type: type,
          flags: options.flags, data: data, describe: "cgroup \(name) on \(sub)")
      } else if let hostDir {
        try bindMount(
          Spec.Mount(destination: sub, type: "bind", source: hostDir), dest: sub,
          options: MountOptions.parse(
            ["rbind", "nosuid", "noexec", "nodev"] + (readOnly ? ["ro"] : [])))
      }
      // cpu,cpuacct-style hierarchies get one symlink per controller.
      if hierarchy.controllers.count > 1 {
        let parent = try root.open(dest, flags: O_PATH | O_DIRECTORY)
        for controller in hierarchy.controllers where controller != name {
          _ = symlinkat(name, parent, controller)
        }
        close(parent)
      }
    }
    if readOnly {
      let again = try root.open(dest)
      defer { close(again) }
      try mount(
        source: nil, target: procFDPath(again), type: nil,
        flags: flags | UInt(MS_REMOUNT | MS_RDONLY), describe: "read-only remount of \(dest)")
    }
  }
}
