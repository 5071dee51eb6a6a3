import BerthOCI
import BerthSystem
import CBerth
import Glibc

public struct CreateOptions: Sendable {
  public var id: String
  public var bundle: String
  public var pidFile: String?
  public var consoleSocket: String?
  public var noPivot = false
  public var noNewKeyring = false
  public var preserveFDs = 0
  /// Set by a foreground `run` with a terminal and no --console-socket
  /// (and by the engine's monitor): the pty master comes back to the
  /// caller, which relays it.
  public var relayTerminal = false
  /// Called once the cgroups are made, before init is cloned: the engine's
  /// monitor waits there for the rootfs, which the engine mounts while the
  /// monitor loads the bundle and makes the cgroups. (Before the clone:
  /// init's mount namespace is a copy, and may not receive later mounts.)
  public var beforeClone: (@Sendable () throws(BerthError) -> Void)?
  /// A network namespace made ahead (the engine's monitor makes one while
  /// it waits to be told), joined in place of the new one the spec asks
  /// for: making it is the costliest part of the clone. Not with a new user
  /// namespace, which must own the container's network namespace.
  public var networkNamespaceAhead: Int32?
  /// Init sets the loopback of a new network namespace up, as podman does
  /// for `--network none` (runc and crun leave it down). A namespace made
  /// ahead comes with it up.
  public var loopbackUp = false
  /// The host's cgroup mounts as the caller read them (the engine's CLI
  /// reads /proc/self/mountinfo for the cgroups it makes ahead, and the
  /// monitor it tells need not read it again); nil reads them here.
  public var cgroupLayout: CgroupLayout?

  public init(id: String, bundle: String) {
    self.id = id
    self.bundle = bundle
  }
}

extension Runtime {
  /// `create`: validates the bundle, clones the container's init into its
  /// namespaces and cgroups, waits until init reports it is ready to exec,
  /// and records the state. On any failure nothing is left behind.
  @discardableResult
  public func create(_ options: CreateOptions) throws(BerthError) -> ContainerRecord {
    try createReturningTerminal(options).record
  }

  /// `create`, also returning the pty master when `relayTerminal` asked for it.
  public func createReturningTerminal(_ options: CreateOptions) throws(BerthError) -> (
    record: ContainerRecord, master: Int32?
  ) {
    try StateStore.validate(id: options.id)
    let bundle = try Bundle.load(options.bundle)
    Trace.mark("runtime: bundle loaded")
    let spec = bundle.spec
    guard let process = spec.process else {
      throw BerthError(.invalidArgument, "config.json has no process to run")
    }
    guard process.args?.isEmpty == false else {
      throw BerthError(
        .invalidArgument, "process.args in config.json is empty", hint: "name a command to run")
    }
    if process.terminal == true && options.consoleSocket == nil && !options.relayTerminal {
      throw BerthError(
        .invalidArgument, "process.terminal is true but no --console-socket was given",
        hint: "pass --console-socket PATH, or set \"terminal\": false in config.json")
    }
    var plan = try NamespacePlan(spec: spec)
    if let fd = options.networkNamespaceAhead { plan.joinMadeAhead(.network, fd: fd) }
    try Hardening.validateSysctls(spec.linux?.sysctl ?? [:], namespaces: plan.allTypes)
    let setup = try ProcessSetup(
      process: process, canSetGroups: plan.canSetGroups)
    // Checked and compiled (or found cached) before anything exists.
    let seccomp = try SeccompProgram.prepare(
      spec.linux?.seccomp, noNewPrivileges: process.noNewPrivileges == true,
      effectiveCapabilities: setup.capabilities.effective, cacheRoot: store.root)
    Trace.mark("runtime: seccomp ready")

    // Nothing inherited beyond stdio and --preserve-fds may reach the container.
    try closeOnExecFrom(3 + Int32(options.preserveFDs))

    try store.reserve(options.id)
    var cleanup = CreateCleanup(store: store, id: options.id)
    do {
      return try createReserved(
        options, bundle: bundle, plan: plan, setup: setup, seccomp: seccomp, cleanup: &cleanup)
    } catch {
      cleanup.run()
      throw error
    }
  }

  private func createReserved(
    _ options: CreateOptions, bundle: Bundle, plan: NamespacePlan, setup: ProcessSetup,
    seccomp: SeccompProgram?, cleanup: inout CreateCleanup
  ) throws(BerthError) -> (record: ContainerRecord, master: Int32?) {
    let spec = bundle.spec
    let id = options.id
    let fifoPath = store.fifoPath(id)
    try check("cannot create exec fifo \(fifoPath)") { mkfifo(fifoPath, 0o600) }
    let fifoFD = try check("cannot open exec fifo \(fifoPath)") {
      open(fifoPath, O_RDWR | O_CLOEXEC)
    }
    defer { close(fifoFD) }

    let layout = options.cgroupLayout ?? CgroupLayout.current()
    var scope: SystemdScope? = nil
    if systemdCgroup && SystemdScope.isSystemdRunning {
      scope = SystemdScope(cgroupsPath: spec.linux?.cgroupsPath, id: id, rootless: rootless)
    } else if systemdCgroup {
      runtimeLogger.warning(
        "--systemd-cgroup: systemd is not running here; using cgroupfs with the systemd path")
    }
    var cgroupPaths: [String] = []
    if scope == nil {
      let (cgroupPath, relative) = Cgroups.resolvePath(
        spec.linux?.cgroupsPath, id: id, systemd: systemdCgroup)
      cgroupPaths = try Cgroups.create(
        layout: layout, path: cgroupPath, relative: relative, rootless: rootless)
      cleanup.cgroupPaths = cgroupPaths
      try applyLimits(spec, dirs: cgroupPaths, layout: layout)
    }
    Trace.mark("runtime: cgroups made")
    // Init joins its cgroups without the kernel's lock (Cgroups.Join)
    // unless a systemd scope places it, the runtime is rootless, or init
    // gets a user namespace, whose root may not write the host's cgroup
    // files. What it needs is opened now, while the engine may still mount.
    var cgroupJoin = try Cgroups.Join(
      cgroupPaths,
      bySelf: scope == nil && !rootless && !plan.new.contains(.user)
        && !plan.joins.contains(where: { $0.kind == .user }))
    defer { cgroupJoin.close() }
    try options.beforeClone?()

    var consoleFD: Int32? = nil
    var relayFD: Int32? = nil
    if spec.process?.terminal == true, let socket = options.consoleSocket {
      consoleFD = try Terminal.connect(socketPath: socket)
    } else if spec.process?.terminal == true && options.relayTerminal {
      let (ours, theirs) = try socketPair()
      relayFD = ours
      consoleFD = theirs
    }
    defer {
      if let consoleFD { close(consoleFD) }
      if let relayFD { close(relayFD) }
    }

    let joins = try plan.openJoins()
    defer { for join in joins { close(join.fd) } }
    // A pid namespace is entered by the parent: it applies to the children.
    if let pidJoin = joins.first(where: { $0.kind == .pid }) {
      try setns(pidJoin.fd, .pid, path: pidJoin.path)
    }
    if plan.new.contains(.time) {
      try enterTimeNamespace(offsets: spec.linux?.timeOffsets ?? [:])
    }
    let (parentSock, childSock) = try seqpacketPair()
    defer { close(parentSock) }

    // A new user namespace owns nothing made before it: from inside, init
    // could not join a network, ipc or uts namespace of the host's user
    // namespace (EPERM). We join those ourselves around the clone, which
    // then inherits them, and go back to ours after (runc's nsexec joins
    // them before it unshares the user namespace, to the same effect).
    let parentJoins =
      plan.new.contains(.user)
      ? joins.filter { [.network, .ipc, .uts].contains($0.kind) } : []
    var home: [(kind: NamespaceKind, fd: Int32)] = []
    // Back into our own namespaces: right after the clone, or on the way
    // out of a failure before it.
    func goHome() throws(BerthError) {
      defer {
        for saved in home { close(saved.fd) }
        home = []
      }
      for saved in home {
        try setns(saved.fd, saved.kind, path: "/proc/\(getpid())/ns/\(saved.kind.procName)")
      }
    }
    defer { try? goHome() }
    for join in parentJoins {
      home.append(
        (join.kind, try openNamespace("/proc/self/ns/\(join.kind.procName)", join.kind)))
      try setns(join.fd, join.kind, path: join.path)
    }
    var config = InitConfig(
      id: id, bundle: bundle.path, spec: spec, process: spec.process!, setup: setup,
      rootfs: bundle.rootfs,
      noPivot: options.noPivot, noNewKeyring: options.noNewKeyring,
      newNamespaces: plan.new,
      joinNamespaces: joins.filter { join in
        join.kind != .pid && !parentJoins.contains { $0.kind == join.kind }
      },
      cgroupPaths: cgroupPaths, cgroupLayout: layout, syncFD: childSock, fifoFD: fifoFD,
      consoleSocketFD: consoleFD)
    config.seccomp = seccomp
    config.loopbackUp = options.loopbackUp && plan.new.contains(.network)
    config.selfJoinCgroups = cgroupJoin.tasks

    let pid = cgroupJoin.clone(flags: plan.cloneFlags)
    let cloneError = currentErrno
    if pid == 0 {
      close(parentSock)
      ContainerInit.run(config)
    }
    close(childSock)
    guard pid > 0 else { throw .system("cannot clone the container's init", cloneError) }
    cleanup.pid = pid
    try goHome()

    if let scope {
      // systemd makes the cgroups when it moves init into the scope.
      cleanup.scope = scope
      cgroupPaths = try scope.start(pid: pid, id: id, layout: layout)
      cleanup.cgroupPaths = cgroupPaths
      try applyLimits(spec, dirs: cgroupPaths, layout: layout)
    } else {
      try cgroupJoin.moveRest(pid)
    }
    if plan.new.contains(.user) {
      try UserNamespace.writeMaps(
        pid: pid, uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [])
    }
    try sendMessage(parentSock, "go")
    Trace.mark("runtime: cloned, joined, go")

    var record = ContainerRecord(
      id: id, bundle: bundle.path, rootfs: bundle.rootfs, pid: pid,
      pidStartTime: 0, created: rfc3339Now(), owner: Runtime.ownerName(),
      spec: spec, cgroupPaths: cgroupPaths, systemdCgroup: systemdCgroup, rootless: rootless,
      systemdScope: scope)
    record.specJSON = bundle.specJSON

    while true {
      guard let message = try receiveMessage(parentSock) else {
        let status = (try? waitForExit(pid)).map(exitCode(fromWaitStatus:)) ?? -1
        cleanup.pid = nil
        throw BerthError(.system, "the container's init exited during setup (status \(status))")
      }
      if message == "ready" {
        Trace.mark("runtime: init ready")
        break
      }
      if message == "hooks" {
        // The environment exists and init waits: hooks see "created", as
        // crun reports it and runtime-tools checks (runc says "creating").
        let state = record.stateDuringCreate(.created)
        try Hooks.run(spec.hooks?.prestart, phase: "prestart", state: state)
        try Hooks.run(spec.hooks?.createRuntime, phase: "createRuntime", state: state)
        try sendMessage(parentSock, "ok")
      } else if message == "seccomp" {
        let state = record.stateDuringCreate(.creating)
        try SeccompListener.relay(from: parentSock, program: seccomp, pid: pid, state: state)
        try sendMessage(parentSock, "ok")
      } else if message.hasPrefix("error:") {
        _ = try? waitForExit(pid)
        cleanup.pid = nil
        throw BerthError(.system, String(message.dropFirst(6)))
      }
    }

    // Read once init is ready (a start time does not change; only the
    // saved record needs it).
    record.pidStartTime = processStartTime(pid) ?? 0
    try store.save(record)
    if let pidFile = options.pidFile {
      try writeFileAtomically(
        absolute(pidFile), Array("\(pid)".utf8), mode: 0o644, durable: false)
    }
    var master: Int32? = nil
    if let relayFD {
      var name = [CChar](repeating: 0, count: 64)
      master = try check("cannot receive the container's pty") {
        berth_recv_fd(relayFD, &name, name.count)
      }
    }
    cleanup.disarm()
    return (record, master)
  }

  /// unshare(CLONE_NEWTIME) puts our future children in a new time
  /// namespace; its clock offsets must be written before the first child.
  func enterTimeNamespace(offsets: [String: Spec.TimeOffset]) throws(BerthError) {
    try check("cannot create a time namespace") {
      berth_unshare(Int32(truncatingIfNeeded: NamespaceKind.time.cloneFlag))
    }
    for (clock, offset) in offsets.sorted(by: { $0.key < $1.key }) {
      guard clock == "monotonic" || clock == "boottime" else {
        throw BerthError(
          .invalidArgument, "unknown clock \"\(clock)\" in linux.timeOffsets",
          hint: "use monotonic or boottime")
      }
      try writeKnob(
        "/proc/self/timens_offsets", "\(clock) \(offset.secs ?? 0) \(offset.nanosecs ?? 0)")
    }
  }

  /// Writes linux.resources; rootless, a cgroup we may not write is skipped.
  func applyLimits(_ spec: Spec, dirs: [String], layout: CgroupLayout) throws(BerthError) {
    do throws(BerthError) {
      try CgroupResources.apply(spec.linux?.resources, dirs: dirs, layout: layout)
    } catch  where rootless && error.code == .permissionDenied {
      runtimeLogger.debug("rootless: cgroup limits not applied: \(error)")
    }
  }

  func absolute(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return path }
    return String(cString: buf) + "/" + path
  }
}

/// Undoes a failed create: kills init, removes cgroups and the state dir.
struct CreateCleanup {
  let store: StateStore
  let id: String
  var pid: pid_t?
  var cgroupPaths: [String] = []
  var scope: SystemdScope?
  var armed = true

  init(store: StateStore, id: String) {
    self.store = store
    self.id = id
  }

  mutating func disarm() { armed = false }

  func run() {
    guard armed else { return }
    if let pid {
      kill(pid, SIGKILL)
      _ = try? waitForExit(pid)
    }
    for other in Cgroups.pids(cgroupPaths) { kill(other, SIGKILL) }
    Cgroups.remove(cgroupPaths)
    scope?.stop()
    store.remove(id)
  }
}
