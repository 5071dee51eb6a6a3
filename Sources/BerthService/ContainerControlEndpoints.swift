// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one; the
// stats object's are docker's snake_case.)
// /containers/{id}/top, /stats, /rename, /pause, /unpause, /update and
// /containers/prune: each parses its query or body, calls the engine and
// encodes docker's shape.
import BerthEngine
import BerthSystem
import FoundationEssentials
import Glibc
import NIOHTTP1

enum ContainerControlEndpoints {
  // MARK: top

  /// `ps` (docker's default `-ef`) over the host's processes, rows kept
  /// for the container's pids, as docker's daemon does it.
  static func top(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let pids = Set(try state.engine().containerProcesses(reference).map(String.init))
    let psArgs = request.query["ps_args"].flatMap { $0.isEmpty ? nil : $0 } ?? "-ef"
    let (status, output) = try ChildProcess.capture(
      ["ps"] + psArgs.split(separator: " ").map(String.init), path: "/bin/ps", mergeStderr: true)
    guard status == 0 else {
      throw BerthError(
        .system, "Error running ps: exit status \(status): \(output)",
        hint: "ps_args are ps(1)'s options, e.g. -ef or aux")
    }
    let lines = output.split(separator: "\n")
    guard let header = lines.first else {
      throw BerthError(.system, "ps printed nothing", hint: "check ps_args")
    }
    let titles = header.split(separator: " ").map(String.init)
    guard let pidColumn = titles.firstIndex(of: "PID") else {
      throw BerthError(
        .system, "Couldn't find PID field in ps output",
        hint: "ps_args must keep the PID column (e.g. -ef, aux, or -o pid,...)")
    }
    var processes: [[String]] = []
    for line in lines.dropFirst() {
      // The last column (the command) may hold spaces.
      let fields = line.split(
        separator: " ", maxSplits: titles.count - 1, omittingEmptySubsequences: true
      ).map(String.init)
      if fields.count > pidColumn, pids.contains(fields[pidColumn]) { processes.append(fields) }
    }
    struct Top: Encodable {
      var Titles: [String]
      var Processes: [[String]]
    }
    return .json(.ok, Router.json(Top(Titles: titles, Processes: processes)))
  }

  // MARK: stats

  struct CPUUsage: Encodable {
    var total_usage: UInt64
    var percpu_usage: [UInt64]?
    var usage_in_kernelmode: UInt64
    var usage_in_usermode: UInt64
  }

  struct CPUStats: Encodable {
    var cpu_usage: CPUUsage
    var system_cpu_usage: UInt64
    var online_cpus: Int
    var throttling_data = ["periods": 0, "throttled_periods": 0, "throttled_time": 0]

    static let zero = CPUStats(
      cpu_usage: CPUUsage(total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0),
      system_cpu_usage: 0, online_cpus: 0)
  }

  struct MemoryStats: Encodable {
    var usage: UInt64
    var limit: UInt64
    var stats: [String: UInt64]
  }

  struct Network: Encodable {
    var rx_bytes: UInt64
    var rx_packets: UInt64 = 0
    var rx_errors: UInt64 = 0
    var rx_dropped: UInt64 = 0
    var tx_bytes: UInt64
    var tx_packets: UInt64 = 0
    var tx_errors: UInt64 = 0
    var tx_dropped: UInt64 = 0
  }

  struct BlkioStats: Encodable {
    var io_service_bytes_recursive: [String]? = nil
    var io_serviced_recursive: [String]? = nil
    var io_queue_recursive: [String]? = nil
    var io_service_time_recursive: [String]? = nil
    var io_wait_time_recursive: [String]? = nil
    var io_merged_recursive: [String]? = nil
    var io_time_recursive: [String]? = nil
    var sectors_recursive: [String]? = nil
  }

  struct Stats: Encodable {
    var read: String
    var preread: String
    var pids_stats: [String: UInt64]
    var blkio_stats = BlkioStats()
    var num_procs = 0
    var storage_stats: [String: UInt64] = [:]
    var cpu_stats: CPUStats
    var precpu_stats: CPUStats
    var memory_stats: MemoryStats
    var name: String
    var id: String
    var networks: [String: Network]?
  }

  /// One reading: the container's counters and the host's CPU time.
  struct Sample {
    var stats: ContainerStats
    var time: String
    var cpu: CPUStats
  }

  static func sample(_ engine: Engine, _ id: String) throws(BerthError) -> Sample {
    let stats = try engine.stats(id)
    let cpu = CPUStats(
      cpu_usage: CPUUsage(
        total_usage: stats.cpuNanoseconds,
        percpu_usage: stats.perCPUNanoseconds.isEmpty ? nil : stats.perCPUNanoseconds,
        usage_in_kernelmode: stats.cpuKernelNanoseconds,
        usage_in_usermode: stats.cpuUserNanoseconds),
      system_cpu_usage: systemCPUNanoseconds(),
      online_cpus: max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1))
    return Sample(stats: stats, time: rfc3339Now(), cpu: cpu)
  }

  /// The host's CPU time (user to softirq of /proc/stat's first line) in
  /// nanoseconds: what docker's CPU % divides by.
  static func systemCPUNanoseconds() -> UInt64 {
    guard let bytes = try? readFile("/proc/stat", limit: 1 << 20),
      let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first
    else { return 0 }
    let ticks = line.split(separator: " ").dropFirst().prefix(7).compactMap { UInt64($0) }
      .reduce(0, +)
    return ticks * 1_000_000_000 / UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
  }

  static func encode(_ current: Sample, previous: Sample?) -> [UInt8] {
    let s = current.stats
    // No limit: docker reports the host's memory.
    let limit =
      s.memoryLimit > 0 && s.memoryLimit < (1 << 62)
      ? s.memoryLimit
      : UInt64(sysconf(Int32(_SC_PHYS_PAGES))) * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    var pids: [String: UInt64] = ["current": s.pids]
    if let max = s.pidsLimit, max < (1 << 62) { pids["limit"] = max }
    let stats = Stats(
      read: current.time, preread: previous?.time ?? "0001-01-01T00:00:00Z", pids_stats: pids,
      cpu_stats: current.cpu, precpu_stats: previous?.cpu ?? .zero,
      memory_stats: MemoryStats(usage: s.memoryUsage, limit: limit, stats: s.memoryDetails),
      name: "/" + s.name, id: s.id,
      networks: s.network.map {
        [
          "eth0": Network(
            rx_bytes: $0.received, rx_packets: $0.receivedPackets, rx_errors: $0.receivedErrors,
            rx_dropped: $0.receivedDropped, tx_bytes: $0.sent, tx_packets: $0.sentPackets,
            tx_errors: $0.sentErrors, tx_dropped: $0.sentDropped)
        ]
      })
    return Router.json(stats)
  }

  /// One object (stream=0; with one-shot=1 at once, else with a reading a
  /// second earlier as precpu, as docker does), or one per second until
  /// the client leaves or the container stops.
  static func stats(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let id = try engine.lookup(reference).id
    let stream = request.query["stream"].map { $0 == "1" || $0.lowercased() == "true" } ?? true
    if !stream {
      if request.flag("one-shot") {
        return .json(.ok, encode(try sample(engine, id), previous: nil))
      }
      let first = try sample(engine, id)
      usleep(1_000_000)
      return .json(.ok, encode(try sample(engine, id), previous: first))
    }
    return .stream(.ok, contentType: "application/json", headers: []) { body in
      guard let engine = try? state.engine() else { return }
      var previous: Sample?
      while let current = try? sample(engine, id) {
        guard body.write(encode(current, previous: previous)[...]) else { return }
        previous = current
        let running = (try? engine.refresh(id)).map { $0.state == .running || $0.state == .paused }
        if running != true { return }
        // A second between objects, as docker's collector ticks; sooner
        // out when the client has gone.
        for _ in 0..<10 where body.isOpen { usleep(100_000) }
        if !body.isOpen { return }
      }
    }
  }

  // MARK: rename, pause, unpause

  static func rename(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    guard var name = request.query["name"], !name.isEmpty else {
      throw BerthError(
        .invalidArgument, "Neither old nor new names may be empty",
        hint: "give the new name as ?name=")
    }
    if name.hasPrefix("/") { name.removeFirst() }
    try state.engine().renameContainer(reference, to: name)
    return .empty(.noContent)
  }

  static func pause(_ reference: String, _ pause: Bool, _ state: ServiceState) throws
    -> APIResponse
  {
    try state.engine().pauseContainer(reference, pause: pause)
    return .empty(.noContent)
  }

  // MARK: update

  struct UpdateBody: Decodable {
    var Memory: Int64?
    var MemorySwap: Int64?
    var CpuShares: Int64?
    var CpuQuota: Int64?
    var CpuPeriod: Int64?
    var NanoCpus: Int64?
    var CpusetCpus: String?
    var PidsLimit: Int64?
    var RestartPolicy: ContainerCreateBody.Host.Restart?
  }

  /// Docker sends every field, zero for "unchanged": only the ones set
  /// reach the engine.
  static func update(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let body = try Router.decode(UpdateBody.self, request.body)
    var update = ContainerUpdate()
    update.memory = body.Memory.flatMap { $0 > 0 ? $0 : nil }
    update.memorySwap = body.MemorySwap.flatMap { $0 != 0 ? $0 : nil }
    update.cpuShares = body.CpuShares.flatMap { $0 > 0 ? UInt64($0) : nil }
    update.cpuQuota = body.CpuQuota.flatMap { $0 != 0 ? $0 : nil }
    update.cpuPeriod = body.CpuPeriod.flatMap { $0 > 0 ? UInt64($0) : nil }
    update.cpus = body.NanoCpus.flatMap { $0 > 0 ? Double($0) / 1e9 : nil }
    update.cpusetCpus = body.CpusetCpus.flatMap { $0.isEmpty ? nil : $0 }
    update.pidsLimit = body.PidsLimit
    if let name = body.RestartPolicy?.Name, !name.isEmpty {
      var policy = try RestartPolicy(parsing: name)
      policy.maxRetries = body.RestartPolicy?.MaximumRetryCount ?? 0
      update.restart = policy
    }
    struct Updated: Encodable { var Warnings: [String] }
    let warnings = try state.engine().updateContainer(reference, update)
    return .json(.ok, Router.json(Updated(Warnings: warnings)))
  }

  // MARK: prune

  /// POST /containers/prune: stopped containers, narrowed by `until` and
  /// `label` / `label!` filters.
  static func prune(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let filters = try Filters(request, allowed: ["until", "label", "label!"])
    var cutoff: Int64?
    if let until = filters.values["until"]?.first {
      cutoff = try Filters.timestamp(until)
    }
    let engine = try state.engine()
    let (removed, bytes) = try engine.pruneContainers { container, config in
      if let cutoff, ContainerEndpoints.unixTime(container.created) >= cutoff { return false }
      return filters.matchesLabels(config.labels)
    }
    struct Pruned: Encodable {
      var ContainersDeleted: [String]
      var SpaceReclaimed: Int64
    }
    return .json(.ok, Router.json(Pruned(ContainersDeleted: removed, SpaceReclaimed: bytes)))
  }
}
