import BerthOCI
import BerthSystem
import Glibc

extension Runtime {
  public func state(_ id: String) throws(BerthError) -> ContainerState {
    try store.load(id).state(store: store)
  }

  public func list() -> [ContainerState] {
    store.ids().compactMap { try? state($0) }
  }

  /// `start`: lets init exec the process by writing to its exec fifo.
  public func start(_ id: String) throws(BerthError) {
    try start(try store.load(id))
  }

  /// `start` of a record already in hand (a foreground `run` has it).
  public func start(_ record: ContainerRecord) throws(BerthError) {
    let id = record.id
    let status = record.status(store: store)
    guard status == .created else {
      throw BerthError(
        .invalidState, "container \"\(id)\" is \(status.rawValue), not created",
        hint: status == .stopped
          ? "`delete \(id)` and create it again" : "only a created container can be started")
    }
    let fifo = store.fifoPath(id)
    // Non-blocking: if init is gone there is no reader and this fails
    // at once with ENXIO instead of hanging.
    let fd = try check(
      "cannot open exec fifo of \"\(id)\"", hint: "the container's init has exited"
    ) {
      open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
    }
    defer { close(fd) }
    unlink(fifo)
    var byte: UInt8 = 0x30
    try check("cannot start container \"\(id)\"") { write(fd, &byte, 1) }
    Hooks.runLogged(record.spec.hooks?.poststart, phase: "poststart") {
      record.state(store: store)
    }
  }

  /// `kill`: signals init, or with `all` every process in the cgroup.
  public func kill(_ id: String, signal: Int32, all: Bool) throws(BerthError) {
    let record = try store.load(id)
    let status = record.status(store: store)
    guard status != .stopped else {
      throw BerthError(
        .invalidState, "container \"\(id)\" is not running",
        hint: "`delete \(id)` removes a stopped container")
    }
    if all {
      let pids = Cgroups.pids(record.cgroupPaths)
      if status == .paused { Cgroups.thaw(record.cgroupPaths) }
      for pid in pids.isEmpty ? [record.pid] : pids { Glibc.kill(pid, signal) }
      return
    }
    // pidfd: the signal reaches our init even if its pid were reused.
    let pidfd = pidfdOpen(record.pid)
    if pidfd >= 0 {
      defer { close(pidfd) }
      guard record.isInitAlive else {
        throw BerthError(
          .invalidState, "container \"\(id)\" is not running",
          hint: "`delete \(id)` removes a stopped container")
      }
      try check("cannot signal container \"\(id)\"") { pidfdSendSignal(pidfd, signal) }
    } else {
      try check("cannot signal container \"\(id)\"") { Glibc.kill(record.pid, signal) }
    }
  }

  /// `delete`: removes a stopped container (or, with `force`, kills it
  /// first) and runs its poststop hooks.
  public func delete(_ id: String, force: Bool) throws(BerthError) {
    let record: ContainerRecord
    do {
      record = try store.load(id)
    } catch  where force && (error.code == .invalidState || error.code == .notFound) {
      // As runc: --force also clears a directory an aborted create left
      // without state.json, and is content when there is nothing at all.
      try StateStore.validate(id: id)
      store.remove(id)
      return
    }
    try delete(record, force: force)
  }

  /// `delete` of a record already in hand (a monitor keeps the one create
  /// returned: reading state.json back means decoding the whole spec again).
  public func delete(_ record: ContainerRecord, force: Bool) throws(BerthError) {
    let id = record.id
    let status = record.status(store: store)
    // The spec: deleting a container that is not stopped MUST fail; a
    // created one counts (runc and crun allow it; podman passes --force).
    if status != .stopped {
      guard force else {
        throw BerthError(
          .invalidState, "container \"\(id)\" is \(status.rawValue)",
          hint: "stop it with `kill \(id)`, or use `delete --force`")
      }
    }
    if status == .created || status == .running || status == .paused {
      killEverything(record)
    }
    Cgroups.remove(record.cgroupPaths)
    record.systemdScope?.stop()
    store.remove(id)
    Hooks.runLogged(record.spec.hooks?.poststop, phase: "poststop") {
      var state = record.state(store: store)
      state.status = .stopped
      return state
    }
  }

  /// SIGKILL to every process of the container, then wait for init to go.
  func killEverything(_ record: ContainerRecord) {
    Cgroups.thaw(record.cgroupPaths)
    for pid in Cgroups.pids(record.cgroupPaths) { Glibc.kill(pid, SIGKILL) }
    if record.isInitAlive { Glibc.kill(record.pid, SIGKILL) }
    // init may be our child (run) or not; either way wait until it is gone.
    for _ in 0..<500 where record.isInitAlive {
      _ = waitpid(record.pid, nil, WNOHANG)
      usleep(2000)
    }
  }

  /// `ps`: the host pids in the container's cgroup.
  public func pids(_ id: String) throws(BerthError) -> [pid_t] {
    let record = try store.load(id)
    let pids = Cgroups.pids(record.cgroupPaths)
    if pids.isEmpty && record.isInitAlive { return [record.pid] }
    return pids
  }
}
