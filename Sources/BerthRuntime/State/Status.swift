import BerthOCI
import BerthSystem
import Glibc

extension ContainerRecord {
  /// Whether init is still the process we started (not a reused pid).
  public var isInitAlive: Bool {
    guard pid > 0, let stat = processStat(pid), stat.startTime == pidStartTime else { return false }
    // A zombie has exited; it only waits to be reaped by its parent.
    return stat.state != "Z"
  }

  /// The status derived from the world, never stored: init alive and the
  /// exec fifo present means created; alive without it, running (or paused
  /// when frozen); otherwise stopped.
  public func status(store: StateStore) -> ContainerState.Status {
    guard isInitAlive else { return pid == 0 ? .creating : .stopped }
    if fileExists(store.fifoPath(id)) { return .created }
    if Cgroups.isFrozen(cgroupPaths) { return .paused }
    return .running
  }

  public func state(store: StateStore) -> ContainerState {
    let status = status(store: store)
    return ContainerState(
      id: id, pid: status == .stopped ? 0 : pid, status: status, bundle: bundle, rootfs: rootfs,
      created: created, owner: owner, annotations: spec.annotations)
  }
}

extension ContainerRecord {
  /// The state hooks and the seccomp agent get while create still runs:
  /// init's pid as it is, not derived (init is ours and waiting).
  func stateDuringCreate(_ status: ContainerState.Status) -> ContainerState {
    ContainerState(
      id: id, pid: pid, status: status, bundle: bundle, rootfs: rootfs, created: created,
      owner: owner, annotations: spec.annotations)
  }
}
