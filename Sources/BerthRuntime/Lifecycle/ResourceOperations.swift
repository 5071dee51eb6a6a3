import BerthOCI
import BerthSystem
import Glibc

extension Runtime {
  /// `pause`: freezes every process of the container.
  public func pause(_ id: String) throws(BerthError) {
    let record = try store.load(id)
    let status = record.status(store: store)
    guard status == .running || status == .created else {
      throw BerthError(.invalidState, "container \"\(id)\" is \(status.rawValue), not running")
    }
    try setFrozen(record, true)
  }

  /// `resume`: thaws a paused container.
  public func resume(_ id: String) throws(BerthError) {
    let record = try store.load(id)
    let status = record.status(store: store)
    guard status == .paused else {
      throw BerthError(.invalidState, "container \"\(id)\" is \(status.rawValue), not paused")
    }
    try setFrozen(record, false)
  }

  func setFrozen(_ record: ContainerRecord, _ frozen: Bool) throws(BerthError) {
    guard let (dir, v2) = Cgroups.freezerDir(record.cgroupPaths) else {
      throw BerthError(
        .unsupported, "container \"\(record.id)\" has no freezer cgroup",
        hint: rootless ? "rootless containers need a delegated cgroup to pause" : nil)
    }
    if v2 {
      try writeKnob(dir + "/cgroup.freeze", frozen ? "1" : "0")
    } else {
      try writeKnob(dir + "/freezer.state", frozen ? "FROZEN" : "THAWED")
    }
    // Freezing is asynchronous: wait until the kernel reports it done.
    for _ in 0..<1000 {
      if Cgroups.isFrozen(record.cgroupPaths) == frozen && (!frozen || freezeSettled(dir, v2)) {
        return
      }
      usleep(1000)
    }
    throw BerthError(
      .timeout, "container \"\(record.id)\" did not \(frozen ? "freeze" : "thaw") in 1s")
  }

  func freezeSettled(_ dir: String, _ v2: Bool) -> Bool {
    let file = v2 ? "/cgroup.events" : "/freezer.state"
    guard let bytes = try? readFile(dir + file) else { return false }
    let text = String(decoding: bytes, as: UTF8.self)
    return v2 ? text.contains("frozen 1") : text.trimmed == "FROZEN"
  }

  /// `update`: merges `resources` into the container's limits and writes them.
  public func update(_ id: String, resources: Spec.Resources) throws(BerthError) {
    var record = try store.load(id)
    let status = record.status(store: store)
    guard status != .stopped else {
      throw BerthError(.invalidState, "container \"\(id)\" is stopped")
    }
    var merged = record.spec.linux?.resources ?? Spec.Resources()
    merged.merge(resources)
    try CgroupResources.apply(resources, dirs: record.cgroupPaths, layout: CgroupLayout.current())
    if record.spec.linux == nil { record.spec.linux = Spec.Linux() }
    record.spec.linux?.resources = merged
    try store.save(record)
  }

  /// Resource usage as `events --stats` prints it.
  public func stats(_ id: String) throws(BerthError) -> CgroupStats {
    let record = try store.load(id)
    return CgroupStats.read(dirs: record.cgroupPaths, layout: CgroupLayout.current())
  }
}

extension Spec.Resources {
  /// Fields set in `other` replace ours (what `update` means).
  mutating func merge(_ other: Spec.Resources) {
    if let v = other.memory {
      var m = memory ?? Memory()
      if let x = v.limit { m.limit = x }
      if let x = v.reservation { m.reservation = x }
      if let x = v.swap { m.swap = x }
      if let x = v.swappiness { m.swappiness = x }
      if let x = v.disableOOMKiller { m.disableOOMKiller = x }
      memory = m
    }
    if let v = other.cpu {
      var c = cpu ?? CPU()
      if let x = v.shares { c.shares = x }
      if let x = v.quota { c.quota = x }
      if let x = v.period { c.period = x }
      if let x = v.burst { c.burst = x }
      if let x = v.cpus { c.cpus = x }
      if let x = v.mems { c.mems = x }
      if let x = v.realtimePeriod { c.realtimePeriod = x }
      if let x = v.realtimeRuntime { c.realtimeRuntime = x }
      cpu = c
    }
    if let v = other.pids { pids = v }
    if let v = other.blockIO { blockIO = v }
    if let v = other.hugepageLimits { hugepageLimits = v }
    if let v = other.unified { unified = (unified ?? [:]).merging(v) { $1 } }
  }
}
