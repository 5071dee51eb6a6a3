// `update` (new resource limits and restart policy for a container) and
// `prune` (every stopped container removed). A running container's limits
// are written to its cgroups through its runtime (BerthRuntime's update, or
// another runtime's `update --resources`); the container's record keeps
// the new values, so the next start builds its spec with them.
import BerthMonitor
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc

/// What `update` changes; nil leaves a value as it is.
public struct ContainerUpdate: Sendable {
  public var memory: Int64?
  /// Memory plus swap; -1 for unlimited swap.
  public var memorySwap: Int64?
  public var cpuShares: UInt64?
  /// CFS quota and period in microseconds, as docker's CpuQuota/CpuPeriod.
  public var cpuQuota: Int64?
  public var cpuPeriod: UInt64?
  /// CPUs as a fraction (docker's NanoCpus / 1e9).
  public var cpus: Double?
  public var cpusetCpus: String?
  /// 0 or -1: unlimited.
  public var pidsLimit: Int64?
  public var restart: RestartPolicy?

  public init() {}

  var changesResources: Bool {
    memory != nil || memorySwap != nil || cpuShares != nil || cpuQuota != nil || cpuPeriod != nil
      || cpus != nil || cpusetCpus != nil || pidsLimit != nil
  }
}

extension RuntimeDriver {
  func update(_ id: String, resources: Spec.Resources, scratch: String) throws(BerthError) {
    guard let external else { return try inProcess!.update(id, resources: resources) }
    try external.update(id, resources: resources, file: scratch)
  }
}

extension Engine {
  /// Applies `update` to the container's record and, when it runs, to its
  /// cgroups. Returns warnings for what takes effect only later.
  public func updateContainer(_ reference: String, _ update: ContainerUpdate) throws(BerthError)
    -> [String]
  {
    let id = try lookup(reference).id
    let lock = try self.lock(container: id)
    defer { withExtendedLifetime(lock) {} }
    let container = try refresh(id)
    var config = try container.decodedConfig()
    var warnings: [String] = []
    if update.changesResources && rootless {
      throw BerthError(
        .unsupported, "resource limits need root here",
        hint: "rootless limits need a delegated cgroup v2 tree")
    }
    var resources = Spec.Resources()
    if update.memory != nil || update.memorySwap != nil {
      var memory = Spec.Resources.Memory()
      if let limit = update.memory, limit > 0 {
        memory.limit = limit
        config.memory = limit
      }
      if let swap = update.memorySwap, swap != 0 {
        let limit = config.memory ?? 0
        guard swap < 0 || limit == 0 || swap >= limit else {
          throw BerthError(
            .invalidArgument, "Minimum memoryswap limit should be larger than memory limit",
            hint: "give a swap limit of at least the memory limit, or -1 for unlimited swap")
        }
        memory.swap = swap
        config.memorySwap = swap
      }
      if memory.limit != nil || memory.swap != nil { resources.memory = memory }
    }
    var cpu = Spec.Resources.CPU()
    var cpuChanged = false
    if let shares = update.cpuShares, shares > 0 {
      cpu.shares = shares
      config.cpuShares = shares
      cpuChanged = true
    }
    if let cpus = update.cpus, cpus > 0 {
      cpu.period = 100_000
      cpu.quota = Int64(cpus * 100_000)
      config.cpus = cpus
      cpuChanged = true
    } else if update.cpuQuota != nil || update.cpuPeriod != nil {
      // The record keeps CPUs as one fraction (the spec's period is 100 ms).
      let period = update.cpuPeriod.flatMap { $0 > 0 ? $0 : nil } ?? 100_000
      if let quota = update.cpuQuota, quota != 0 {
        cpu.quota = quota
        cpu.period = period
        config.cpus = quota > 0 ? Double(quota) / Double(period) : nil
        cpuChanged = true
      } else if let given = update.cpuPeriod, given > 0 {
        cpu.period = given
        cpuChanged = true
      }
    }
    if let set = update.cpusetCpus, !set.isEmpty {
      cpu.cpus = set
      config.cpusetCpus = set
      cpuChanged = true
    }
    if cpuChanged { resources.cpu = cpu }
    if let limit = update.pidsLimit {
      resources.pids = Spec.Resources.Pids(limit: limit > 0 ? limit : -1)
      config.pidsLimit = limit > 0 ? limit : nil
    }
    if let restart = update.restart {
      if restart.name != "no" && config.autoRemove {
        throw BerthError(
          .invalidArgument, "Restart policy cannot be updated because AutoRemove is enabled",
          hint: "a container started with --rm is removed when it stops; it cannot restart")
      }
      config.restart = restart
      if container.state == .running || container.state == .paused {
        warnings.append(
          "the restart policy applies from the container's next start (its monitor keeps the old one until then)"
        )
      }
    }
    if (container.state == .running || container.state == .paused) && resources != Spec.Resources()
    {
      let scratch =
        runDirectory(container.id) + "/update-\(ContainerNames.randomID().prefix(12)).json"
      defer { unlink(scratch) }
      do {
        try driver(config, id: container.id).update(
          container.id, resources: resources, scratch: scratch)
      } catch {
        throw BerthError(
          error.code, "cannot update the limits of \(container.name): \(error.message)",
          hint: error.hint ?? "check the values against the host's cgroup limits")
      }
    }
    let encoded = try Container.encode(config)
    try database.write { db in
      try db.execute(
        sql: "UPDATE container SET config = ? WHERE id = ?", arguments: [encoded, container.id])
      try EventLog.record(
        db, type: "container", action: "update", id: container.id, name: container.name,
        attributes: [:])
    }
    return warnings
  }

  /// Deletes what a `--rm` monitor killed mid-removal left: the trees it
  /// moved aside, and the network namespace (with its veths) of a container
  /// that is gone.
  public func sweepTrash() {
    Trash.sweep(trashDirectory)
    let known = Set((try? containers().map(\.id)) ?? [])
    for id in listDirectory(runRoot + "/netns") where !known.contains(id) {
      NetworkNamespace.remove(at: networkNamespacePath(id))
    }
  }

  /// Removes every stopped (exited or created) container `include` accepts;
  /// returns the ids removed and the bytes their writable
  /// layers held.
  public func pruneContainers(where include: (Container, ContainerConfig) -> Bool)
    throws(BerthError) -> (removed: [String], bytes: Int64)
  {
    var removed: [String] = []
    var bytes: Int64 = 0
    sweepTrash()
    for container in try containers()
    where container.state == .exited || container.state == .created {
      guard let config = try? container.decodedConfig(), include(container, config) else {
        continue
      }
      let size = (try? store.snapshot(id: container.id)).map { Self.allocatedSize($0.upper) } ?? 0
      do {
        _ = try removeContainer(container.id, force: false, volumes: false)
      } catch  where error.code == .invalidState {
        continue  // started meanwhile
      }
      removed.append(container.id)
      bytes += size
    }
    return (removed, bytes)
  }
}
