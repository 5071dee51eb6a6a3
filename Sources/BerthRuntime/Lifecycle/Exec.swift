import BerthOCI
import BerthSystem
import CBerth
import Glibc

public struct ExecOptions: Sendable {
  public var id: String
  public var process: Spec.Process
  public var consoleSocket: String?
  public var pidFile: String?
  public var detach = false
  public var preserveFDs = 0
  /// Capabilities added with --cap: they widen bounding, effective,
  /// permitted and ambient, never inheritable (CVE-2022-29162).
  public var extraCapabilities: [String] = []

  public init(id: String, process: Spec.Process) {
    self.id = id
    self.process = process
  }
}

extension Runtime {
  /// `exec`: runs another process in a running container's namespaces and
  /// cgroups. Returns its exit code, or 0 at once when detached.
  public func exec(_ options: ExecOptions) throws(BerthError) -> Int32 {
    try exec(options, record: try store.load(options.id))
  }

  /// `exec` with the container's record already loaded.
  public func exec(_ options: ExecOptions, record: ContainerRecord) throws(BerthError) -> Int32 {
    let status = record.status(store: store)
    guard status == .running || status == .created else {
      throw BerthError(
        .invalidState, "cannot exec in container \"\(options.id)\": it is \(status.rawValue)",
        hint: status == .paused ? "`resume \(options.id)` first" : "start the container first")
    }
    var process = options.process
    if !options.extraCapabilities.isEmpty {
      var caps = process.capabilities ?? Spec.Capabilities()
      for cap in options.extraCapabilities {
        let name = cap.uppercased().hasPrefix("CAP_") ? cap.uppercased() : "CAP_" + cap.uppercased()
        guard Capability.number(name) != nil else {
          throw BerthError(
            .invalidArgument, "unknown capability \"\(cap)\"",
            hint: "use names such as CAP_NET_ADMIN")
        }
        for keyPath in [\Spec.Capabilities.bounding, \.effective, \.permitted, \.ambient] {
          var list = caps[keyPath: keyPath] ?? []
          if !list.contains(name) { list.append(name) }
          caps[keyPath: keyPath] = list
        }
      }
      process.capabilities = caps
    }
    if process.terminal == true && options.consoleSocket == nil {
      throw BerthError(
        .invalidArgument, "exec with a terminal needs --console-socket",
        hint: "pass --console-socket PATH, or drop --tty")
    }
    let canSetGroups = NamespacePlan.canSetGroups(
      userNamespace: (record.spec.linux?.namespaces ?? []).contains { $0.type == "user" },
      uidMappings: record.spec.linux?.uidMappings ?? [])
    let setup = try ProcessSetup(process: process, canSetGroups: canSetGroups)
    // The container's filter applies to exec'd processes too (as in runc).
    let seccomp = try SeccompProgram.prepare(
      record.spec.linux?.seccomp, noNewPrivileges: process.noNewPrivileges == true,
      effectiveCapabilities: setup.capabilities.effective, cacheRoot: store.root)

    try closeOnExecFrom(3 + Int32(options.preserveFDs))

    // Join every namespace of init that differs from ours, in join order.
    var joins: [(kind: NamespaceKind, fd: Int32, path: String)] = []
    defer { for join in joins { close(join.fd) } }
    for kind in NamespaceKind.joinOrder {
      let path = "/proc/\(record.pid)/ns/\(kind.procName)"
      guard let theirs = namespaceInode(path),
        theirs != namespaceInode("/proc/self/ns/\(kind.procName)")
      else {
        continue
      }
      joins.append((kind, try openNamespace(path, kind), path))
    }
    // The container may exit meanwhile: the fds pin its namespaces, and
    // this check catches a pid reused before we opened them.
    guard record.isInitAlive else {
      throw BerthError(.invalidState, "container \"\(options.id)\" exited")
    }
    // The pid namespace applies to our children, so the parent enters it.
    // Unprivileged, that needs the container's user namespace first (it
    // owns the pid namespace); the child then inherits both.
    var joinedUser = false
    if let pidJoin = joins.first(where: { $0.kind == .pid }) {
      do throws(BerthError) {
        try setns(pidJoin.fd, .pid, path: pidJoin.path)
      } catch  where error.cause == .notPermitted {
        guard let userJoin = joins.first(where: { $0.kind == .user }) else { throw error }
        try setns(userJoin.fd, .user, path: userJoin.path)
        ContainerInit.becomeNamespaceRoot()
        joinedUser = true
        try setns(pidJoin.fd, .pid, path: pidJoin.path)
      }
    }
    var consoleFD: Int32? = nil
    if process.terminal == true, let socket = options.consoleSocket {
      consoleFD = try Terminal.connect(socketPath: socket)
    }
    defer { if let consoleFD { close(consoleFD) } }
    let (parentSock, childSock) = try seqpacketPair()
    defer { close(parentSock) }

    // As create's init does (Cgroups.Join), when the child is still the
    // host's root at "go": not rootless, no user namespace entered here.
    var cgroupJoin = try Cgroups.Join(record.cgroupPaths, bySelf: !rootless && !joinedUser)
    defer { cgroupJoin.close() }
    let pid = cgroupJoin.clone(flags: 0)
    if pid == 0 {
      close(parentSock)
      ExecProcess.run(
        process: process, setup: setup, seccomp: seccomp,
        joins: joins.filter { $0.kind != .pid && !(joinedUser && $0.kind == .user) },
        selfJoin: cgroupJoin.tasks, syncFD: childSock, consoleFD: consoleFD)
    }
    close(childSock)
    guard pid > 0 else { throw .system("cannot clone the exec process", currentErrno) }
    do throws(BerthError) {
      do throws(BerthError) {
        try cgroupJoin.moveRest(pid)
      } catch  where rootless {
        runtimeLogger.debug("exec: not joining cgroups: \(error)")
      }
      try sendMessage(parentSock, "go")
      // On success execve closes the child's end (CLOEXEC): EOF.
      while let message = try receiveMessage(parentSock) {
        if message == "seccomp" {
          try SeccompListener.relay(
            from: parentSock, program: seccomp, pid: pid, state: record.state(store: store))
          try sendMessage(parentSock, "ok")
        } else if message.hasPrefix("error:") {
          _ = try? waitForExit(pid)
          throw BerthError(.system, String(message.dropFirst(6)))
        }
      }
    } catch {
      Glibc.kill(pid, SIGKILL)
      _ = try? waitForExit(pid)
      throw error
    }
    if let pidFile = options.pidFile {
      try writeFileAtomically(
        absolute(pidFile), Array("\(pid)".utf8), mode: 0o644, durable: false)
    }
    if options.detach { return 0 }
    forwardSignals(to: pid)
    let waitStatus = try waitForExit(pid)
    forwardSignalsTo = 0
    return exitCode(fromWaitStatus: waitStatus)
  }
}

/// The child side of exec.
enum ExecProcess {
  static func run(
    process: Spec.Process, setup: ProcessSetup, seccomp: SeccompProgram?,
    joins: [(kind: NamespaceKind, fd: Int32, path: String)], selfJoin: [Cgroups.TasksFile],
    syncFD: Int32, consoleFD: Int32?
  ) -> Never {
    do throws(BerthError) {
      guard try receiveMessage(syncFD) == "go" else { _exit(1) }
      // Not dumpable: container processes cannot open /proc/PID/exe or
      // ptrace us while we still run the runtime's code (CVE-2019-5736).
      _ = berth_set_dumpable(0)
      // Before any namespace is joined: the paths are the host's.
      try Cgroups.joinSelf(selfJoin)
      // As root, namespaces the container's user namespace may not own
      // (the engine's network namespace) are joined before it: from inside,
      // joining them is EPERM. Unprivileged, the user namespace comes first.
      let early: Set<NamespaceKind> = geteuid() == 0 ? [.network, .ipc, .uts, .cgroup] : []
      for join in joins.filter({ early.contains($0.kind) })
        + joins.filter({
          !early.contains($0.kind)
        })
      {
        try setns(join.fd, join.kind, path: join.path)
        if join.kind == .user { ContainerInit.becomeNamespaceRoot() }
      }
      if process.terminal == true, let consoleFD {
        _ = setsid()
        let root = try RootFS(path: "/")
        let ptmx = try root.open("/dev/pts/ptmx", flags: O_PATH, noSymlinks: true)
        let (master, slave) = try Terminal.openPair(ptmx: ptmx)
        close(ptmx)
        if let size = process.consoleSize {
          try Terminal.setSize(slave, rows: size.height, cols: size.width)
        }
        try Terminal.send(master: master, over: consoleFD, name: "/dev/pts")
        close(master)
        close(consoleFD)
        try Console.attach(slave: slave)
      }
      try setup.applyRlimits()
      let executable = try setup.resolveExecutable()
      try seccomp?.applyBeforeCapabilityDrop(setup: setup, syncFD: syncFD)
      try setup.applyIdentityAndCapabilities()
      setup.applyUmask()
      try SeccompProgram.enterWorkingDirectory(seccomp, setup: setup)
      try seccomp?.applyBeforeReady(syncFD: syncFD)
      // Loads the filter (unless done above) just before execve.
      let errno = try SeccompProgram.execve(
        seccomp, path: executable, args: process.args ?? [], env: process.env ?? [])
      throw BerthError(.system, "exec \(executable) failed", cause: errno)
    } catch {
      try? sendMessage(syncFD, "error:" + error.description)
    }
    _exit(127)
  }
}
