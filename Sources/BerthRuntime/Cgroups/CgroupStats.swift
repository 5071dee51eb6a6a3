import BerthSystem
import Glibc

/// The `data` of runc's `events --stats` JSON, read from v1 or v2 files.
public struct CgroupStats: Codable, Sendable {
  public struct CPU: Codable, Sendable {
    public struct Usage: Codable, Sendable {
      public var total: UInt64 = 0
      public var percpu: [UInt64]? = nil
      public var kernel: UInt64 = 0
      public var user: UInt64 = 0
    }
    public struct Throttling: Codable, Sendable {
      public var periods: UInt64? = nil
      public var throttledPeriods: UInt64? = nil
      public var throttledTime: UInt64? = nil
    }
    public var usage = Usage()
    public var throttling = Throttling()
  }
  public struct MemoryEntry: Codable, Sendable {
    public var limit: UInt64? = nil
    public var usage: UInt64? = nil
    public var max: UInt64? = nil
    public var failcnt: UInt64? = nil
  }
  public struct Memory: Codable, Sendable {
    public var usage = MemoryEntry()
    public var swap = MemoryEntry()
    public var raw: [String: UInt64]? = nil
  }
  public struct Pids: Codable, Sendable {
    public var current: UInt64 = 0
    public var limit: UInt64? = nil
  }

  public var cpu = CPU()
  public var memory = Memory()
  public var pids = Pids()

  static func number(_ path: String) -> UInt64? {
    guard let bytes = try? readFile(path, limit: 1 << 20) else { return nil }
    let text = String(decoding: bytes, as: UTF8.self).trimmed
    return text == "max" ? UInt64.max : UInt64(text)
  }

  static func keyed(_ path: String) -> [String: UInt64] {
    guard let bytes = try? readFile(path, limit: 1 << 20) else { return [:] }
    var out: [String: UInt64] = [:]
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let parts = line.split(separator: " ")
      if parts.count == 2, let v = UInt64(parts[1]) { out[String(parts[0])] = v }
    }
    return out
  }

  public static func read(dirs: [String], layout: CgroupLayout) -> CgroupStats {
    var s = CgroupStats()
    func dir(_ controller: String) -> String? {
      dirs.first { d in
        layout.hierarchies.contains {
          $0.controllers.contains(controller) && d.hasPrefix($0.mountPoint + "/")
        }
      }
    }
    if layout.isUnified, let d = dirs.first {
      let cpu = keyed(d + "/cpu.stat")
      s.cpu.usage.total = (cpu["usage_usec"] ?? 0) * 1000
      s.cpu.usage.user = (cpu["user_usec"] ?? 0) * 1000
      s.cpu.usage.kernel = (cpu["system_usec"] ?? 0) * 1000
      s.cpu.throttling = .init(
        periods: cpu["nr_periods"], throttledPeriods: cpu["nr_throttled"],
        throttledTime: cpu["throttled_usec"].map { $0 * 1000 })
      s.memory.usage = .init(
        limit: number(d + "/memory.max"), usage: number(d + "/memory.current"),
        max: number(d + "/memory.peak"))
      s.memory.swap = .init(
        limit: number(d + "/memory.swap.max"), usage: number(d + "/memory.swap.current"))
      s.memory.raw = keyed(d + "/memory.stat")
      s.pids = .init(current: number(d + "/pids.current") ?? 0, limit: number(d + "/pids.max"))
      return s
    }
    if let d = dir("cpuacct") {
      s.cpu.usage.total = number(d + "/cpuacct.usage") ?? 0
      if let bytes = try? readFile(d + "/cpuacct.usage_percpu") {
        s.cpu.usage.percpu = String(decoding: bytes, as: UTF8.self).split(separator: " ").compactMap
        {
          UInt64($0.trimmed)
        }
      }
      // cpuacct.stat counts USER_HZ ticks.
      let ticks = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
      let stat = keyed(d + "/cpuacct.stat")
      s.cpu.usage.user = (stat["user"] ?? 0) * 1_000_000_000 / ticks
      s.cpu.usage.kernel = (stat["system"] ?? 0) * 1_000_000_000 / ticks
    }
    if let d = dir("cpu") {
      let stat = keyed(d + "/cpu.stat")
      s.cpu.throttling = .init(
        periods: stat["nr_periods"], throttledPeriods: stat["nr_throttled"],
        throttledTime: stat["throttled_time"])
    }
    if let d = dir("memory") {
      s.memory.usage = .init(
        limit: number(d + "/memory.limit_in_bytes"), usage: number(d + "/memory.usage_in_bytes"),
        max: number(d + "/memory.max_usage_in_bytes"), failcnt: number(d + "/memory.failcnt"))
      s.memory.swap = .init(
        limit: number(d + "/memory.memsw.limit_in_bytes"),
        usage: number(d + "/memory.memsw.usage_in_bytes"),
        max: number(d + "/memory.memsw.max_usage_in_bytes"),
        failcnt: number(d + "/memory.memsw.failcnt"))
      s.memory.raw = keyed(d + "/memory.stat")
    }
    if let d = dir("pids") {
      s.pids = .init(current: number(d + "/pids.current") ?? 0, limit: number(d + "/pids.max"))
    }
    return s
  }
}
