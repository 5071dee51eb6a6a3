import BerthOCI
import BerthSystem
import CBerth
import Glibc

/// The container's init: the child of clone. The runtime is single-threaded
/// when it clones, so this may run ordinary Swift until execve. It never
/// returns: it execs the container process or exits after reporting the
/// error to the runtime.
enum ContainerInit {
  static func run(_ config: InitConfig) -> Never {
    do {
      try initialize(config)
    } catch {
      try? sendMessage(config.syncFD, "error:" + error.description)
    }
    _exit(1)
  }

  static func initialize(_ config: InitConfig) throws(BerthError) {
    // Wait until the parent has put us in our cgroups and written id maps.
    guard try receiveMessage(config.syncFD) == "go" else { _exit(1) }
    Trace.mark("init: go")
    // Before any namespace is joined: the paths are the host's.
    try Cgroups.joinSelf(config.selfJoinCgroups)
    // Our pid as the host sees it, for the state hooks get: the host's
    // /proc is still mounted, and /proc/self there names the host pid.
    hostPid = hostPidFromProc()
    if config.newNamespaces.contains(.user) { becomeNamespaceRoot() }
    for join in config.joinNamespaces {
      try setns(join.fd, join.kind, path: join.path)
      if join.kind == .user { becomeNamespaceRoot() }
      close(join.fd)
    }
    if config.newNamespaces.contains(.cgroup) {
      // Now that we are in our cgroups, they become the namespace's root.
      try check("cannot create a cgroup namespace") {
        berth_unshare(Int32(truncatingIfNeeded: NamespaceKind.cgroup.cloneFlag))
      }
    }
    if config.loopbackUp { try NetworkNamespace.setLoopbackUp() }
    _ = setsid()
    if !config.noNewKeyring {
      // Unavailable keyrings (old kernels, some rootless setups) are not fatal, as in crun.
      _ = berth_join_session_keyring(config.id)
    }
    umask(0)

    var consoleSlave: Int32? = nil
    if config.newNamespaces.contains(.mount) {
      consoleSlave = try prepareRootfs(config)
      Trace.mark("init: rootfs ready")
    } else {
      try check("cannot enter rootfs \(config.rootfs)") { chdir(config.rootfs) }
      try check("cannot chroot into \(config.rootfs)") { chroot(".") }
    }

    if config.newNamespaces.contains(.uts)
      || config.joinNamespaces.contains(where: { $0.kind == .uts })
    {
      if let hostname = config.spec.hostname {
        try check("cannot set hostname \(hostname)") { sethostname(hostname, hostname.utf8.count) }
      }
      if let domainname = config.spec.domainname {
        try check("cannot set domainname \(domainname)") {
          setdomainname(domainname, domainname.utf8.count)
        }
      }
    }

    try config.setup.applyRlimits()
    try config.setup.applyOOMScoreAdj()
    if let slave = consoleSlave {
      try Console.attach(slave: slave)
    }
    let executable = try config.setup.resolveExecutable()
    try config.seccomp?.applyBeforeCapabilityDrop(setup: config.setup, syncFD: config.syncFD)
    try config.setup.applyIdentityAndCapabilities()
    config.setup.applyUmask()
    try SeccompProgram.enterWorkingDirectory(config.seccomp, setup: config.setup)
    try config.seccomp?.applyBeforeReady(syncFD: config.syncFD)

    try sendMessage(config.syncFD, "ready")
    close(config.syncFD)

    // Block until `start` writes to the exec fifo.
    var byte: UInt8 = 0
    let n = read(config.fifoFD, &byte, 1)
    guard n == 1 else { _exit(1) }
    close(config.fifoFD)

    let state = ContainerState(
      id: config.id, pid: hostPid, status: .running, bundle: config.bundle, rootfs: config.rootfs,
      created: "", owner: "", annotations: config.spec.annotations)
    try Hooks.run(config.spec.hooks?.startContainer, phase: "startContainer", state: state)

    // The filter loads inside this call, just before execve. The syncFD is
    // closed by now: a failure goes to stderr.
    do {
      let errno = try SeccompProgram.execve(
        config.seccomp, path: executable, args: config.process.args ?? [],
        env: config.process.env ?? [])
      let message = "berth-runtime: exec \(executable): \(errno)\n"
      _ = message.withCString { write(2, $0, strlen($0)) }
      _exit(errno == .permissionDenied ? 126 : 127)
    } catch {
      let message = "berth-runtime: \(error)\n"
      _ = message.withCString { write(2, $0, strlen($0)) }
      _exit(1)
    }
  }

  nonisolated(unsafe) static var hostPid: Int32 = 0

  static func hostPidFromProc() -> Int32 {
    var buf = [CChar](repeating: 0, count: 32)
    let n = readlink("/proc/self", &buf, buf.count - 1)
    guard n > 0 else { return getpid() }
    return Int32(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
      ?? getpid()
  }

  /// In a new user namespace: become its root (if 0 is mapped) so the
  /// rest of setup acts as container root.
  static func becomeNamespaceRoot() {
    _ = berth_setresgid(0)
    _ = berth_setresuid(0)
  }

  /// Mounts the container's filesystem and switches into it. Returns the
  /// console's pty slave when the process has a terminal.
  static func prepareRootfs(_ config: InitConfig) throws(BerthError) -> Int32? {
    let spec = config.spec
    let linux = spec.linux
    // Nothing we mount may propagate back to the host, unless asked for
    // (shared). An unbindable "/" could not be bound below, so that one is
    // applied only after pivot_root.
    var propagation = MountOptions.parse([linux?.rootfsPropagation ?? "rslave"]).propagation
    if propagation & UInt(MS_UNBINDABLE) != 0 { propagation = UInt(MS_SLAVE | MS_REC) }
    try mount(
      source: nil, target: "/", type: nil,
      flags: propagation == 0 ? UInt(MS_SLAVE | MS_REC) : propagation | UInt(MS_REC),
      describe: "/ (making it private to the container)")
    // pivot_root refuses a shared parent mount; after the recursive slave
    // or private remount above only a requested "shared" leaves one.
    if propagation & UInt(MS_SHARED) != 0 { try makeParentMountPrivate(of: config.rootfs) }
    try mount(
      source: config.rootfs, target: config.rootfs, type: nil, flags: UInt(MS_BIND | MS_REC),
      describe: "rootfs \(config.rootfs)")

    let root = try RootFS(path: config.rootfs)

    let mounts = SpecMounts(
      root: root, inUserNamespace: config.inUserNamespace,
      cgroupNamespace: config.newNamespaces.contains(.cgroup), cgroupPaths: config.cgroupPaths,
      cgroupLayout: config.cgroupLayout)
    try mounts.mountAll(spec.mounts ?? [])

    let devIsBound = (spec.mounts ?? []).contains {
      $0.destination == "/dev" && MountOptions.parse($0.options ?? []).isBind
    }
    if !devIsBound {
      try Devices.create(linux?.devices ?? [], root: root, bindHost: config.inUserNamespace)
      try Devices.createLinks(root: root)
    }

    var slave: Int32? = nil
    if config.process.terminal == true, let socketFD = config.consoleSocketFD {
      let size = config.process.consoleSize.map { (rows: $0.height, cols: $0.width) }
      slave = try Console.setUp(
        root: root, socketFD: socketFD, size: size, bindConsole: !devIsBound)
      close(socketFD)
    }
    // The cwd is created if missing, as runc does, before the switch.
    if let dir = try? root.mkdirAll(config.process.cwd) { close(dir) }

    // prestart and createRuntime hooks run in the runtime's namespaces.
    try sendMessage(config.syncFD, "hooks")
    guard try receiveMessage(config.syncFD) == "ok" else { _exit(1) }
    let state = ContainerState(
      id: config.id, pid: hostPid, status: .created, bundle: config.bundle, rootfs: config.rootfs,
      created: "", owner: "", annotations: spec.annotations)
    try Hooks.run(spec.hooks?.createContainer, phase: "createContainer", state: state)

    if config.noPivot {
      try RootSwitch.moveAndChroot(into: root)
    } else {
      try RootSwitch.pivot(into: root)
    }

    let newRoot = try RootFS(path: "/")
    if let sysctl = linux?.sysctl { try Hardening.applySysctls(sysctl, root: newRoot) }
    if let masked = linux?.maskedPaths, !masked.isEmpty {
      let devNull = try Hardening.openVerifiedDevNull(root: newRoot)
      defer { close(devNull) }
      try Hardening.mask(masked, root: newRoot, devNull: devNull)
    }
    try Hardening.makeReadOnly(linux?.readonlyPaths ?? [], root: newRoot)
    if spec.root?.readonly == true { try Hardening.remountRootReadOnly() }
    if let requested = linux?.rootfsPropagation {
      let flags = MountOptions.parse([requested]).propagation
      if flags != 0 {
        try mount(source: nil, target: "/", type: nil, flags: flags, describe: "/ propagation")
      }
    }
    return slave
  }

  /// pivot_root refuses a new root whose parent mount is shared; the
  /// mount holding the rootfs is made private (in our namespace only).
  static func makeParentMountPrivate(of path: String) throws(BerthError) {
    guard let bytes = try? readFile("/proc/self/mountinfo") else { return }
    var best = "/"
    var bestShared = false
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count > 6 else { continue }
      let mountPoint = String(fields[4])
      let matches = path == mountPoint || path.hasPrefix(mountPoint == "/" ? "/" : mountPoint + "/")
      if matches && mountPoint.count >= best.count {
        best = mountPoint
        bestShared = fields[6...].prefix { $0 != "-" }.contains { $0.hasPrefix("shared:") }
      }
    }
    if bestShared {
      try mount(source: nil, target: best, type: nil, flags: UInt(MS_PRIVATE), describe: best)
    }
  }
}
