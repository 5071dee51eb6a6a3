import BerthOCI
import BerthSystem
import Glibc

/// Turns `linux.resources` into cgroup file writes, for a v1 hierarchy (by
/// its controllers) or for cgroup v2, translating v1 units to v2 ones as
/// runc and crun do. Pure: the writes are applied by `apply`.
public enum CgroupResources {
  public struct Write: Equatable, Sendable {
    public var file: String
    public var value: String
    public init(_ file: String, _ value: String) {
      self.file = file
      self.value = value
    }
  }

  // MARK: v1

  public static func v1Writes(_ r: Spec.Resources, controllers: [String]) -> [Write] {
    var writes: [Write] = []
    let has = Set(controllers)
    if has.contains("memory"), let m = r.memory {
      if let v = m.reservation { writes.append(.init("memory.soft_limit_in_bytes", "\(v)")) }
      // memsw must stay >= limit: when both grow, limit first would fail
      // against the old memsw, so memsw goes first; `apply` retries the
      // other order if the kernel refuses.
      if let swap = m.swap { writes.append(.init("memory.memsw.limit_in_bytes", "\(swap)")) }
      if let v = m.limit { writes.append(.init("memory.limit_in_bytes", "\(v)")) }
      if let v = m.swappiness, v <= 100 { writes.append(.init("memory.swappiness", "\(v)")) }
      if m.disableOOMKiller == true { writes.append(.init("memory.oom_control", "1")) }
      if let v = m.useHierarchy { writes.append(.init("memory.use_hierarchy", v ? "1" : "0")) }
    }
    if has.contains("cpu"), let c = r.cpu {
      if let v = c.shares, v > 0 { writes.append(.init("cpu.shares", "\(v)")) }
      if let v = c.period, v > 0 { writes.append(.init("cpu.cfs_period_us", "\(v)")) }
      if let v = c.quota, v != 0 { writes.append(.init("cpu.cfs_quota_us", "\(v)")) }
      if let v = c.burst { writes.append(.init("cpu.cfs_burst_us", "\(v)")) }
      if let v = c.realtimePeriod, v > 0 { writes.append(.init("cpu.rt_period_us", "\(v)")) }
      if let v = c.realtimeRuntime, v != 0 { writes.append(.init("cpu.rt_runtime_us", "\(v)")) }
      if let v = c.idle { writes.append(.init("cpu.idle", "\(v)")) }
    }
    if has.contains("cpuset"), let c = r.cpu {
      if let v = c.cpus, !v.isEmpty { writes.append(.init("cpuset.cpus", v)) }
      if let v = c.mems, !v.isEmpty { writes.append(.init("cpuset.mems", v)) }
    }
    if has.contains("pids"), let p = r.pids {
      writes.append(.init("pids.max", p.limit > 0 ? "\(p.limit)" : "max"))
    }
    if has.contains("blkio"), let b = r.blockIO {
      if let v = b.weight, v > 0 { writes.append(.init("blkio.weight", "\(v)")) }
      if let v = b.leafWeight, v > 0 { writes.append(.init("blkio.leaf_weight", "\(v)")) }
      for d in b.weightDevice ?? [] {
        if let w = d.weight {
          writes.append(.init("blkio.weight_device", "\(d.major):\(d.minor) \(w)"))
        }
        if let w = d.leafWeight {
          writes.append(.init("blkio.leaf_weight_device", "\(d.major):\(d.minor) \(w)"))
        }
      }
      let throttles: [(String, [Spec.Resources.BlockIO.ThrottleDevice]?)] = [
        ("blkio.throttle.read_bps_device", b.throttleReadBpsDevice),
        ("blkio.throttle.write_bps_device", b.throttleWriteBpsDevice),
        ("blkio.throttle.read_iops_device", b.throttleReadIOPSDevice),
        ("blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice),
      ]
      for (file, devices) in throttles {
        for d in devices ?? [] { writes.append(.init(file, "\(d.major):\(d.minor) \(d.rate)")) }
      }
    }
    if has.contains("hugetlb") {
      for h in r.hugepageLimits ?? [] {
        writes.append(.init("hugetlb.\(h.pageSize).limit_in_bytes", "\(h.limit)"))
      }
    }
    if has.contains("net_cls"), let id = r.network?.classID {
      writes.append(.init("net_cls.classid", "\(id)"))
    }
    if has.contains("net_prio") {
      for p in r.network?.priorities ?? [] {
        writes.append(.init("net_prio.ifpriomap", "\(p.name) \(p.priority)"))
      }
    }
    if has.contains("devices"), let rules = r.devices {
      writes += deviceWrites(rules)
    }
    return writes
  }

  /// The devices every container may use whatever its rules say (runc's
  /// list): the default nodes, the pty multiplexer and slaves, and mknod.
  static let alwaysAllowed = [
    "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
    "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
  ]

  static func deviceWrites(_ rules: [Spec.Resources.DeviceRule]) -> [Write] {
    var writes: [Write] = []
    for rule in rules {
      let type = rule.type ?? "a"
      let major = rule.major.map(String.init) ?? "*"
      let minor = rule.minor.map(String.init) ?? "*"
      let access = rule.access ?? "rwm"
      let entry =
        type == "a" && rule.major == nil && rule.minor == nil
        ? "a" : "\(type) \(major):\(minor) \(access)"
      writes.append(.init(rule.allow ? "devices.allow" : "devices.deny", entry))
    }
    writes += alwaysAllowed.map { Write("devices.allow", $0) }
    return writes
  }

  // MARK: v2

  /// cpu.shares (2..262144) to cpu.weight (1..10000), as runc converts.
  public static func weight(fromShares shares: UInt64) -> UInt64 {
    shares == 0 ? 0 : 1 + ((max(shares, 2) - 2) * 9999) / 262142
  }

  /// blkio.weight (10..1000) to io.weight (1..10000).
  public static func ioWeight(fromBlkio weight: UInt16) -> UInt64 {
    weight == 0 ? 0 : 1 + (UInt64(max(weight, 10)) - 10) * 9999 / 990
  }

  public static func v2Writes(_ r: Spec.Resources) throws(BerthError) -> [Write] {
    var writes: [Write] = []
    if let m = r.memory {
      if let v = m.reservation { writes.append(.init("memory.low", "\(v)")) }
      if let v = m.limit { writes.append(.init("memory.max", v < 0 ? "max" : "\(v)")) }
      if let swap = m.swap {
        // v1's swap is memory+swap; v2's swap.max is the swap part alone.
        let value: String
        if swap < 0 {
          value = "max"
        } else if let limit = m.limit, limit > 0 {
          guard swap >= limit else {
            throw BerthError(
              .invalidArgument, "memory.swap (\(swap)) is below memory.limit (\(limit))",
              hint: "swap is the total of memory and swap, so it must be at least the limit")
          }
          value = "\(swap - limit)"
        } else {
          value = "\(swap)"
        }
        writes.append(.init("memory.swap.max", value))
      }
      if m.disableOOMKiller == true {
        runtimeLogger.debug("memory.disableOOMKiller has no cgroup v2 equivalent; ignored")
      }
    }
    if let c = r.cpu {
      if let shares = c.shares, shares > 0 {
        writes.append(.init("cpu.weight", "\(weight(fromShares: shares))"))
      }
      if c.quota != nil || c.period != nil {
        let quota = c.quota.map { $0 > 0 ? "\($0)" : "max" } ?? "max"
        writes.append(.init("cpu.max", "\(quota) \(c.period ?? 100_000)"))
      }
      if let v = c.burst { writes.append(.init("cpu.max.burst", "\(v)")) }
      if let v = c.idle { writes.append(.init("cpu.idle", "\(v)")) }
      if let v = c.cpus, !v.isEmpty { writes.append(.init("cpuset.cpus", v)) }
      if let v = c.mems, !v.isEmpty { writes.append(.init("cpuset.mems", v)) }
    }
    if let p = r.pids {
      writes.append(.init("pids.max", p.limit > 0 ? "\(p.limit)" : "max"))
    }
    if let b = r.blockIO {
      if let v = b.weight, v > 0 {
        writes.append(.init("io.weight", "default \(ioWeight(fromBlkio: v))"))
      }
      for d in b.weightDevice ?? [] {
        if let w = d.weight {
          writes.append(.init("io.weight", "\(d.major):\(d.minor) \(ioWeight(fromBlkio: w))"))
        }
      }
      let throttles: [(String, [Spec.Resources.BlockIO.ThrottleDevice]?)] = [
        ("rbps", b.throttleReadBpsDevice), ("wbps", b.throttleWriteBpsDevice),
        ("riops", b.throttleReadIOPSDevice), ("wiops", b.throttleWriteIOPSDevice),
      ]
      for (key, devices) in throttles {
        for d in devices ?? [] {
          writes.append(.init("io.max", "\(d.major):\(d.minor) \(key)=\(d.rate)"))
        }
      }
    }
    for h in r.hugepageLimits ?? [] {
      writes.append(.init("hugetlb.\(h.pageSize).max", "\(h.limit)"))
    }
    for (key, value) in (r.unified ?? [:]).sorted(by: { $0.key < $1.key }) {
      guard !key.contains("/"), !key.hasPrefix("."), key.contains(".") else {
        throw BerthError(
          .invalidArgument, "invalid linux.resources.unified key \"\(key)\"",
          hint: "use a cgroup v2 file name such as memory.high")
      }
      writes.append(.init(key, value))
    }
    return writes
  }

  /// The v2 controllers a set of writes needs enabled in the parents.
  static func controllers(for writes: [Write]) -> Set<String> {
    Set(writes.compactMap { $0.file.split(separator: ".").first.map(String.init) })
      .intersection(["cpu", "cpuset", "memory", "pids", "io", "hugetlb", "misc", "rdma"])
  }

  // MARK: applying

  /// Writes `resources` into the container's cgroup directories.
  public static func apply(
    _ resources: Spec.Resources?, dirs: [String], layout: CgroupLayout
  ) throws(BerthError) {
    guard let resources else { return }
    for dir in dirs {
      guard let hierarchy = layout.hierarchies.first(where: { dir.hasPrefix($0.mountPoint + "/") })
      else { continue }
      if hierarchy.isV2 {
        // In the hybrid layout v1 holds the controllers; cgroup2 only
        // tracks processes, so only `unified` keys go there.
        var v2 = resources
        if !layout.isUnified {
          v2 = Spec.Resources()
          v2.unified = resources.unified
          let usable = Set(
            ((try? readFile(hierarchy.mountPoint + "/cgroup.controllers")) ?? []).split(
              separator: 0x20
            )
            .map { String(decoding: $0, as: UTF8.self).trimmed })
          if usable.contains("hugetlb") { v2.hugepageLimits = resources.hugepageLimits }
        }
        let writes = try v2Writes(v2)
        try enableControllers(controllers(for: writes), below: hierarchy.mountPoint, dir: dir)
        try write(writes, into: dir)
        // On a v2-only host the device rules become a BPF program; in the
        // hybrid layout the v1 devices controller enforces them.
        if layout.isUnified, let rules = resources.devices {
          try DeviceFilter.attach(rules, to: dir)
        }
      } else {
        try write(v1Writes(resources, controllers: hierarchy.controllers), into: dir)
      }
    }
    if !layout.isUnified { try refuseUnavailable(resources, layout: layout) }
  }

  /// A limit asked for on a v1 host without its controller is an error,
  /// not a silent no-op.
  static func refuseUnavailable(_ r: Spec.Resources, layout: CgroupLayout) throws(BerthError) {
    let mounted = Set(layout.hierarchies.flatMap(\.controllers))
    var missing: [String] = []
    if !(r.hugepageLimits ?? []).isEmpty && !mounted.contains("hugetlb") {
      missing.append("hugetlb")
    }
    if r.network?.classID != nil && !mounted.contains("net_cls") { missing.append("net_cls") }
    if !(r.network?.priorities ?? []).isEmpty && !mounted.contains("net_prio") {
      missing.append("net_prio")
    }
    guard missing.isEmpty else {
      throw BerthError(
        .unsupported,
        "linux.resources asks for the \(missing.joined(separator: ", ")) cgroup controller, which this host does not mount",
        hint: "remove those limits, or mount the controller under /sys/fs/cgroup")
    }
  }

  static let bfqFallback = [
    "blkio.weight": "blkio.bfq.weight", "blkio.weight_device": "blkio.bfq.weight_device",
  ]

  static func write(_ writes: [Write], into dir: String) throws(BerthError) {
    var pending = writes
    var index = 0
    while index < pending.count {
      let w = pending[index]
      do {
        try writeKnob(dir + "/" + w.file, w.value)
      } catch  where error.cause == .noSuchFileOrDirectory && bfqFallback[w.file] != nil {
        // Kernels without CFQ have only BFQ's weight files, as runc knows.
        pending[index].file = bfqFallback[w.file]!
        continue
      } catch
        where w.file == "memory.memsw.limit_in_bytes"
        && pending.dropFirst(index + 1).contains(where: { $0.file == "memory.limit_in_bytes" })
      {
        // Shrinking: the limit has to go down before memsw can follow.
        let limitIndex = pending.firstIndex { $0.file == "memory.limit_in_bytes" }!
        pending.swapAt(index, limitIndex)
        continue
      } catch {
        throw BerthError(
          error.code, "cannot set \(w.file) to \(w.value) in \(dir)",
          hint: error.cause == .noSuchFileOrDirectory
            ? "this kernel's cgroup lacks \(w.file)" : error.hint, cause: error.cause)
      }
      index += 1
    }
  }

  /// cgroup v2 only lets a child use controllers enabled in every
  /// ancestor's cgroup.subtree_control.
  static func enableControllers(_ wanted: Set<String>, below root: String, dir: String)
    throws(BerthError)
  {
    guard !wanted.isEmpty else { return }
    let line = wanted.sorted().map { "+" + $0 }.joined(separator: " ")
    var current = root
    let parts = dir.dropFirst(root.count).split(separator: "/")
    for part in parts.dropLast() {
      try writeKnob(current + "/cgroup.subtree_control", line)
      current += "/" + part
    }
    try writeKnob(current + "/cgroup.subtree_control", line)
  }
}
