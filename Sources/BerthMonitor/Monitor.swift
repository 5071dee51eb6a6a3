// A container's monitor: the one process that stays with a running
// container (no daemon). Started by the engine with posix_spawn, it forks
// once so its starter can reap it, becomes a session leader and a child
// subreaper, then creates and starts the container through BerthRuntime in
// this process (single-threaded: clone runs Swift), owns its stdio or pty,
// writes the log, serves the attach socket, runs health checks, applies the
// restart policy, records the exit and cleans up. A poll loop on pidfds
// and pipes: no signals to juggle, nothing inherited by the container.
import BerthOCI
import BerthRuntime
import BerthSystem
import CBerth
import FoundationEssentials
import Glibc
import SystemPackage

public struct Monitor {
  let runDirectory: String
  let config: MonitorConfig
  let runtime: Runtime
  var status: MonitorStatus
  var log: LogWriter
  var listener: Int32 = -1
  var clients: [Client] = []
  var output: [(fd: Int32, stream: String)] = []
  var stdinFD: Int32 = -1
  var master: Int32 = -1
  var containerPidFD: Int32 = -1
  /// What create returned, deleted from memory when the container ends.
  var record: ContainerRecord?
  var health: HealthRun?
  var nextHealthCheck: Int64 = 0
  var launchedAt: Int64 = 0
  /// `--timeout`: when the container is killed (monotonic milliseconds).
  var runDeadline: Int64?
  /// When to trim the monitor's memory: a moment after the container (a
  /// clone of this process until it execs) or a health check started, so
  /// that no other process still maps our pages.
  var trimAt: Int64?
  /// Client input the container has not read yet.
  var pendingStdin: [UInt8] = []
  var closeStdinWhenFlushed = false
  /// The restart policy's next launch (monotonic milliseconds).
  var restartAt: Int64?
  var backoff = 0
  var trimsLeft = 1
  /// The start channel of a monitor started ahead, kept when the engine
  /// mounts the rootfs after telling it (`config.awaitRootfs`): the first
  /// launch waits there before it clones init.
  public var rootfsGate: Int32 = -1
  /// A network namespace made while the monitor waited to be told, for the
  /// first launch (CreateOptions.networkNamespaceAhead); -1: none.
  public var networkNamespaceAhead: Int32 = -1
  /// The cgroup layout the engine read (config.cgroupLayout), for the
  /// first launch (CreateOptions.cgroupLayout); a restart reads it afresh.
  var cgroupLayoutAhead: CgroupLayout?

  struct Client {
    var fd: Int32
    var buffer: [UInt8] = []
  }

  struct HealthRun {
    var pid: pid_t
    var pidFD: Int32
    var outputFD: Int32
    var output: [UInt8] = []
    var started: String
    var deadline: Int64
  }

  var statusPath: String { runDirectory + "/" + RunFiles.status }

  /// `--runtime`: another OCI runtime driven through its command line.
  var external: OCIRuntimeCommand? {
    config.runtimePath.map {
      OCIRuntimeCommand(path: $0, root: config.runtimeRoot, log: runDirectory + "/runtime.log")
    }
  }

  mutating func deleteContainer() {
    if let external {
      try? external.delete(config.id)
    } else if let record {
      try? runtime.delete(record, force: true)
    } else {
      try? runtime.delete(config.id, force: true)
    }
    record = nil
  }

  /// The monitor for the container whose files are in `runDirectory`,
  /// with the config loaded from there.
  public init(runDirectory: String, config: MonitorConfig) throws(BerthError) {
    self.runDirectory = runDirectory
    self.config = config
    cgroupLayoutAhead = config.cgroupLayout
    runtime = Runtime(root: config.runtimeRoot, rootless: nil, systemdCgroup: false)
    let me = getpid()
    status = MonitorStatus(
      state: .starting, monitorPid: me, monitorStartTime: processStartTime(me) ?? 0)
    log = try LogWriter(driver: config.logDriver, path: config.logPath, maxSize: config.logMaxSize)
  }

  /// Starts the container and reports "ok" or "error MESSAGE" on `syncFD`;
  /// then runs until the container is done for good. `attachFD` is a
  /// client connected from the start (a foreground `run` or `start -a`), so
  /// not a byte of output is missed.
  public mutating func run(syncFD: Int32, attachFD: Int32) -> Never {
    if attachFD >= 0 { clients.append(Client(fd: attachFD)) }
    do {
      listener = try UnixSocket.listen(directory: runDirectory, name: RunFiles.attach)
      try launch()
    } catch {
      status.state = .exited
      status.error = error.description
      status.exitCode = EngineExit.code(forStartError: error.description)
      status.finishedAt = rfc3339Now()
      finish(report: syncFD, startError: error.description)
    }
    report(syncFD, "ok \(status.pid)")
    loop()
  }

  // MARK: Starting

  /// Memory trims: at `time`, and with `again` once more 2 s later (pages a
  /// fresh container still shared with us by then).
  mutating func scheduleTrim(at time: Int64, again: Bool = true) {
    trimAt = time
    trimsLeft = again ? 1 : 0
  }

  /// Keeps what deleting the container needs (its pid, cgroups, poststop
  /// hooks and annotations), not the whole spec: a monitor's heap is what
  /// it costs for as long as its container runs.
  mutating func keep(_ created: ContainerRecord) {
    var kept = created
    kept.spec.process = nil
    kept.spec.mounts = nil
    kept.spec.linux = nil
    record = kept
  }

  /// Creates and starts the container with fresh stdio.
  mutating func launch() throws(BerthError) {
    Trace.mark("monitor: launch")
    deleteContainer()
    pendingStdin = []
    closeStdinWhenFlushed = false
    let devNull = try check("cannot open /dev/null") { open("/dev/null", O_RDWR | O_CLOEXEC) }
    defer { close(devNull) }
    var childEnds: [Int32] = []
    defer { for fd in childEnds { close(fd) } }
    // Only the first launch waits; a restart's rootfs is mounted already.
    let gate = config.awaitRootfs ? rootfsGate : -1
    defer {
      if rootfsGate >= 0 {
        close(rootfsGate)
        rootfsGate = -1
      }
    }
    let beforeClone: (@Sendable () throws(BerthError) -> Void)? =
      gate < 0
      ? nil : { @Sendable () throws(BerthError) in try PrestartChannel.awaitRootfsMounted(gate) }
    var options = CreateOptions(id: config.id, bundle: config.bundle)
    options.beforeClone = beforeClone
    options.loopbackUp = config.loopbackUp
    // The first launch only: a restart's clone makes a new namespace and
    // reads the mounts afresh.
    if networkNamespaceAhead >= 0 { options.networkNamespaceAhead = networkNamespaceAhead }
    options.cgroupLayout = cgroupLayoutAhead
    cgroupLayoutAhead = nil
    defer {
      if networkNamespaceAhead >= 0 {
        close(networkNamespaceAhead)
        networkNamespaceAhead = -1
      }
    }
    if let external {
      try launchExternal(external, devNull: devNull, childEnds: &childEnds)
    } else if config.terminal {
      options.relayTerminal = true
      try withStdio(devNull, devNull, devNull) { () throws(BerthError) in
        let (record, terminal) = try runtime.createReturningTerminal(options)
        keep(record)
        guard let terminal else {
          throw BerthError(.internalError, "the runtime returned no terminal")
        }
        master = terminal
        _ = fcntl(master, F_SETFL, O_NONBLOCK)
        status.pid = record.pid
      }
      output = [(master, "stdout")]
    } else {
      let (stdinRead, outWrite, errWrite) = try makeStdioPipes(
        devNull: devNull, childEnds: &childEnds)
      try withStdio(stdinRead, outWrite, errWrite) { () throws(BerthError) in
        let record = try runtime.create(options)
        keep(record)
        status.pid = record.pid
      }
    }
    Trace.mark("monitor: created")
    containerPidFD = pidfdOpen(status.pid)
    if let external {
      try external.run(["start", config.id])
    } else if let record {
      // The record create returned: reading state.json back and decoding
      // it again cost a few tenths of a millisecond of every run.
      try runtime.start(record)
    } else {
      try runtime.start(config.id)
    }
    Trace.mark("monitor: started")
    status.state = .running
    status.startedAt = rfc3339Now()
    launchedAt = monotonicMilliseconds()
    scheduleTrim(at: launchedAt + 300)
    runDeadline = config.timeoutSeconds.map { launchedAt + Int64($0) * 1000 }
    status.finishedAt = nil
    status.exitCode = nil
    if let health = config.health, health.command != nil {
      status.health = "starting"
      nextHealthCheck =
        monotonicMilliseconds() + Int64(max(health.intervalSeconds, 0.1) * 1000)
    }
    try? status.save(statusPath)
  }

  /// Pipes for the container's stdio (stdin only with -i): our ends are
  /// kept, the container's returned (and closed by the caller after create).
  mutating func makeStdioPipes(devNull: Int32, childEnds: inout [Int32]) throws(BerthError) -> (
    stdin: Int32, stdout: Int32, stderr: Int32
  ) {
    let out = try makePipe()
    let err = try makePipe()
    childEnds += [out.write, err.write]
    var stdinRead = devNull
    if config.stdin {
      let input = try makePipe()
      childEnds.append(input.read)
      stdinRead = input.read
      stdinFD = input.write
      _ = fcntl(stdinFD, F_SETFL, O_NONBLOCK)
    }
    output = [(out.read, "stdout"), (err.read, "stderr")]
    return (stdinRead, out.write, err.write)
  }

  /// Runs `body` with fds 0, 1 and 2 replaced (the container's init
  /// inherits them), then points them back at /dev/null.
  func withStdio(
    _ input: Int32, _ out: Int32, _ err: Int32, _ body: () throws(BerthError) -> Void
  ) throws(BerthError) {
    let saved = fcntl(2, F_DUPFD_CLOEXEC, 3)
    dup2(input, 0)
    dup2(out, 1)
    dup2(err, 2)
    defer {
      let null = open("/dev/null", O_RDWR | O_CLOEXEC)
      dup2(null, 0)
      dup2(null, 1)
      dup2(saved >= 0 ? saved : null, 2)
      close(null)
      if saved >= 0 { close(saved) }
    }
    try body()
  }

  func report(_ fd: Int32, _ message: String) {
    guard fd >= 0 else { return }
    _ = try? FileDescriptor(rawValue: fd).writeFully(message + "\n", what: "sync")
    close(fd)
  }

  // MARK: The loop

  mutating func loop() -> Never {
    // conmon reads 8 KiB at a time; 16 KiB keeps a busy container's output
    // at a few reads per pipe-full, for a quarter of the resident buffer.
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
      var fds: [pollfd] = []
      let events = Int16(POLLIN)
      fds.append(pollfd(fd: containerPidFD, events: events, revents: 0))
      fds.append(pollfd(fd: listener, events: events, revents: 0))
      fds.append(pollfd(fd: health?.pidFD ?? -1, events: events, revents: 0))
      fds.append(pollfd(fd: health?.outputFD ?? -1, events: events, revents: 0))
      let stdinTarget = master >= 0 ? master : stdinFD
      fds.append(
        pollfd(fd: pendingStdin.isEmpty ? -1 : stdinTarget, events: Int16(POLLOUT), revents: 0))
      for stream in output { fds.append(pollfd(fd: stream.fd, events: events, revents: 0)) }
      let polledClients = clients.map(\.fd)
      // Stdin backed up past 1 MiB: clients are not polled (their input
      // would wake every poll) until the container reads.
      let clientsWait = pendingStdin.count > 1 << 20
      for fd in polledClients {
        fds.append(pollfd(fd: clientsWait ? -1 : fd, events: events, revents: 0))
      }
      var timeout: Int32 = -1
      let now = monotonicMilliseconds()
      // Health checks run only while the container runs (healthTimers'
      // rule): during a restart back-off their due time is not moved on.
      if status.health != nil && status.state == .running {
        let due = health.map { $0.deadline } ?? nextHealthCheck
        timeout = Int32(clamping: max(0, due - now))
      }
      for deadline in [runDeadline, trimAt, restartAt].compactMap({ $0 }) {
        let left = Int32(clamping: max(0, deadline - now))
        timeout = timeout < 0 ? left : min(timeout, left)
      }
      let ready = poll(&fds, nfds_t(fds.count), timeout)
      if ready < 0 && currentErrno != .interrupted { break }

      if fds[4].revents != 0 { flushStdin(stdinTarget) }
      let polledOutput = output
      // Clients first: what a client sent before it hung up (the API's
      // resize writes one frame and closes) is read before any output is
      // forwarded, since a write to a client that has gone drops it, and
      // its unread frames with it.
      var gone: [Int32] = []
      var index = 5 + polledOutput.count
      for fd in polledClients {
        if fds[index].revents != 0 && !readClient(fd, &buffer) { gone.append(fd) }
        index += 1
      }
      for fd in gone { dropClient(fd) }
      index = 5
      var closedOutputs: [Int32] = []
      for stream in polledOutput {
        if fds[index].revents != 0 {
          let got = read(stream.fd, &buffer, buffer.count)
          if got > 0 {
            forward(stream.stream, buffer[0..<got])
          } else if got == 0 || (currentErrno != .interrupted && currentErrno != .wouldBlock) {
            closedOutputs.append(stream.fd)
          }
        }
        index += 1
      }
      for fd in closedOutputs {
        close(fd)
        output.removeAll { $0.fd == fd }
      }
      if fds[1].revents != 0 {
        let client = UnixSocket.accept(listener)
        if client >= 0 {
          // A client that cannot keep up is dropped, never waited for.
          _ = fcntl(client, F_SETFL, O_NONBLOCK)
          clients.append(Client(fd: client))
        }
      }
      if fds[3].revents != 0, var run = health {
        let got = read(run.outputFD, &buffer, buffer.count)
        if got > 0 {
          if run.output.count < 4096 { run.output += buffer[0..<got] }
          health = run
        } else {
          close(run.outputFD)
          run.outputFD = -1
          health = run
        }
      }
      if fds[2].revents != 0 { healthCheckEnded(timedOut: false) }
      healthTimers()
      if let due = trimAt, monotonicMilliseconds() >= due {
        // Once more a while later, for pages that were still shared.
        trimAt = trimsLeft > 0 ? due + 2000 : nil
        trimsLeft -= 1
        MemoryTrim.trim()
      }
      if let deadline = runDeadline, monotonicMilliseconds() >= deadline, containerPidFD >= 0 {
        // --timeout: podman's conmon kills the container when it runs out;
        // by pidfd, never a pid the kernel may have given to another.
        runDeadline = nil
        _ = pidfdSendSignal(containerPidFD, SIGKILL)
      }
      if fds[0].revents != 0 { containerExited(&buffer) }
      if let due = restartAt, monotonicMilliseconds() >= due {
        restartAt = nil
        relaunch()
      } else if restartAt != nil && fileExists(runDirectory + "/" + RunFiles.stopRequested) {
        restartAt = nil
        status.state = .exited
        finish(report: -1, startError: nil)
      }
      reapOrphans()
    }
    exit(EngineExit.engineError)
  }

  /// Sends output to the log and to every attached client.
  mutating func forward(_ stream: String, _ bytes: ArraySlice<UInt8>) {
    log.write(stream: stream, bytes)
    let frame = AttachFrame.encode(stream == "stderr" ? .stderr : .stdout, bytes)
    var gone: [Int32] = []
    for client in clients {
      // A client that cannot keep up is dropped rather than stalling the container.
      if (try? FileDescriptor(rawValue: client.fd).writeFully(frame, what: "attach")) == nil {
        gone.append(client.fd)
      }
    }
    for fd in gone { dropClient(fd) }
  }

  /// Reads a client's frames; false when it hung up.
  mutating func readClient(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
    let got = read(fd, &buffer, buffer.count)
    guard got > 0 else { return got < 0 && currentErrno == .interrupted }
    guard let index = clients.firstIndex(where: { $0.fd == fd }) else { return false }
    clients[index].buffer += buffer[0..<got]
    for (kind, payload) in AttachFrame.decode(&clients[index].buffer) {
      switch kind {
      case .stdin:
        // Queued, and written as the container reads: a container that
        // does not read its stdin must not stall the monitor.
        if master >= 0 || stdinFD >= 0 { pendingStdin += payload }
      case .closeStdin:
        // After what is still queued for it.
        closeStdinWhenFlushed = true
        closeStdinIfFlushed()
      case .resize:
        let parts = String(decoding: payload, as: UTF8.self).split(separator: " ")
        if master >= 0, parts.count == 2, let rows = UInt16(parts[0]), let cols = UInt16(parts[1]) {
          let set = Result { () throws(BerthError) in
            try Terminal.setSize(master, rows: rows, cols: cols)
          }
          Trace.mark("monitor: resize \(rows) \(cols) on fd \(master): \(set)")
        } else {
          Trace.mark("monitor: resize frame ignored (master \(master))")
        }
      default: break
      }
    }
    return true
  }

  /// Writes what the container's stdin (or pty) takes now.
  mutating func flushStdin(_ target: Int32) {
    guard target >= 0, !pendingStdin.isEmpty else { return }
    let written = pendingStdin.withUnsafeBytes { write(target, $0.baseAddress, $0.count) }
    if written > 0 {
      pendingStdin.removeFirst(written)
    } else if written < 0 && currentErrno != .wouldBlock && currentErrno != .interrupted {
      pendingStdin = []
    }
    closeStdinIfFlushed()
  }

  mutating func closeStdinIfFlushed() {
    guard closeStdinWhenFlushed, pendingStdin.isEmpty, stdinFD >= 0 else { return }
    close(stdinFD)
    stdinFD = -1
    closeStdinWhenFlushed = false
  }

  mutating func dropClient(_ fd: Int32) {
    close(fd)
    clients.removeAll { $0.fd == fd }
  }

  // MARK: Exit, restart, clean-up

  mutating func containerExited(_ buffer: inout [UInt8]) {
    Trace.mark("monitor: container exited")
    var waitStatus: Int32 = 0
    var code: Int32 = EngineExit.engineError
    if waitpid(status.pid, &waitStatus, WNOHANG) == status.pid {
      code = exitCode(fromWaitStatus: waitStatus)
    } else if external == nil, let state = try? runtime.state(config.id), state.status == .stopped {
      code = 137
    }
    close(containerPidFD)
    containerPidFD = -1
    runDeadline = nil
    // What the container wrote just before it exited.
    for stream in output {
      _ = fcntl(stream.fd, F_SETFL, O_NONBLOCK)
      while true {
        let got = read(stream.fd, &buffer, buffer.count)
        if got <= 0 { break }
        forward(stream.stream, buffer[0..<got])
      }
      close(stream.fd)
    }
    output = []
    if master >= 0 {
      close(master)
      master = -1
    }
    if stdinFD >= 0 {
      close(stdinFD)
      stdinFD = -1
    }
    if let run = health {
      Glibc.kill(run.pid, SIGKILL)
      healthCheckEnded(timedOut: true)
    }
    deleteContainer()
    status.exitCode = code
    status.finishedAt = rfc3339Now()
    if shouldRestart(code) {
      status.restartCount += 1
      status.state = .exited
      try? status.save(statusPath)
      // Docker's back-off: 100 ms doubling, capped at a minute, and back to
      // 100 ms after a run of 10 s or more. The wait is the poll loop's, so
      // attach clients and a `stop` are served meanwhile.
      if monotonicMilliseconds() - launchedAt >= 10_000 { backoff = 0 }
      let delay = min(Int64(100) << min(Int64(backoff), 10), 60_000)
      backoff += 1
      restartAt = monotonicMilliseconds() + delay
      return
    }
    status.state = .exited
    finish(report: -1, startError: nil)
  }

  /// The restart policy's new run, once its back-off has passed.
  mutating func relaunch() {
    if fileExists(runDirectory + "/" + RunFiles.stopRequested) {
      finish(report: -1, startError: nil)
    }
    do {
      try launch()
    } catch {
      status.error = error.description
      finish(report: -1, startError: nil)
    }
  }

  /// As a child subreaper the monitor inherits what double-forks inside a
  /// container that shares a pid namespace (--pid host or container:X):
  /// those are reaped here; the container and the health check are left
  /// to their pidfds.
  func reapOrphans() {
    while true {
      var info = siginfo_t()
      guard waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return }
      let pid = info._sifields._sigchld.si_pid
      if pid == 0 || pid == status.pid || pid == health?.pid { return }
      var ignored: Int32 = 0
      _ = waitpid(pid, &ignored, WNOHANG)
    }
  }

  func shouldRestart(_ code: Int32) -> Bool {
    if fileExists(runDirectory + "/" + RunFiles.stopRequested) { return false }
    switch config.restartPolicy {
    case "always", "unless-stopped": return true
    case "on-failure":
      return code != 0
        && (config.restartMaxRetries == 0 || status.restartCount < config.restartMaxRetries)
    default: return false
    }
  }

  /// Unmounts, removes with --rm, records the exit, tells the clients, exits.
  mutating func finish(report syncFD: Int32, startError: String?) -> Never {
    Trace.mark("monitor: finishing")
    deleteContainer()
    Trace.mark("monitor: runtime state deleted")
    // Lazily only when busy: a spare snapshot's overlay must be gone.
    var unmountedCleanly = false
    if let mount = config.rootfsMount {
      unmountedCleanly = umount2(mount, 0) == 0
      if !unmountedCleanly { umount2(mount, Int32(MNT_DETACH)) }
    }
    for mount in config.extraMounts { umount2(mount, Int32(MNT_DETACH)) }
    // Deleting a veth waits for the kernel's network RCU (13 ms measured
    // here). A stopped container's go first: its next start makes them
    // again under the same names and MACs. A --rm container's go after its
    // exit is told, as nothing will start it again (and the engine hands
    // out addresses round-robin, so its address is not reused at once).
    func removeNetworkNamespace(_ path: String) {
      NetworkNamespace.removeInterfaces(config.hostInterfaces)
      NetworkNamespace.remove(at: path)
    }
    let lateNamespace = config.autoRemove ? config.networkNamespace : nil
    if let namespace = config.networkNamespace, lateNamespace == nil {
      removeNetworkNamespace(namespace)
    }
    if config.pasta != nil { PastaProcess.stop(pidFile: runDirectory + "/" + RunFiles.pasta) }
    var trashed: [String] = []
    if config.autoRemove {
      for path in config.removePaths {
        if let spare = config.spareSnapshot, path == spare.snapshot, unmountedCleanly,
          spare.park(name: config.id)
        {
          continue
        }
        if let moved = config.trashDirectory.flatMap({ Trash.move(path, into: $0) }) {
          trashed.append(moved)
        } else {
          try? removeTree(path)
        }
      }
      status.removed = true
    }
    Trace.mark("monitor: unmounted and removed")
    if listener >= 0 { unlink(runDirectory + "/" + RunFiles.attach) }
    // The status is the last file written: a reader that sees it final
    // may remove the run directory.
    try? status.save(statusPath)
    if let startError { report(syncFD, "error \(startError)") }
    let frame = AttachFrame.encode(
      .exit, Array("\(status.exitCode ?? EngineExit.engineError)".utf8))
    for client in clients {
      _ = try? FileDescriptor(rawValue: client.fd).writeFully(frame, what: "attach")
      close(client.fd)
    }
    if let command = config.exitCommand, let path = command.first {
      _ = try? ChildProcess.spawn(command, path: path)
    }
    if let lateNamespace { removeNetworkNamespace(lateNamespace) }
    for path in trashed { try? removeTree(path) }
    Trace.mark("monitor: exit")
    exit(0)
  }
}
