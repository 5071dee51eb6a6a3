// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// POST /containers/create: docker's container config, its HostConfig and
// NetworkingConfig, turned into the engine's ContainerConfig as the CLI's
// flags are. A field of the wrong type is a 400; a field Berth cannot
// honour is an error rather than silently dropped.
import BerthEngine
import BerthImage
import BerthMonitor
import BerthSystem
import FoundationEssentials

struct ContainerCreateBody: Decodable {
  var Image: String?
  var Cmd: [String]?
  var Entrypoint: [String]?
  var Env: [String]?
  var WorkingDir: String?
  var User: String?
  var Hostname: String?
  var Domainname: String?
  var Tty: Bool?
  var OpenStdin: Bool?
  var Labels: [String: String]?
  var StopSignal: String?
  var StopTimeout: Int?
  var ExposedPorts: [String: Empty]?
  var Volumes: [String: Empty]?
  var Healthcheck: Health?
  var NetworkDisabled: Bool?
  var HostConfig: Host?
  var NetworkingConfig: Networking?

  /// `{}` values of docker's sets (ExposedPorts, Volumes).
  struct Empty: Decodable {}

  struct Health: Decodable {
    var Test: [String]?
    /// Durations in nanoseconds, 0 for the default.
    var Interval: Int64?
    var Timeout: Int64?
    var StartPeriod: Int64?
    var Retries: Int?
  }

  struct Host: Decodable {
    var Binds: [String]?
    var Mounts: [Mount]?
    var Tmpfs: [String: String]?
    var PortBindings: [String: [PortBinding]?]?
    var PublishAllPorts: Bool?
    var AutoRemove: Bool?
    var NetworkMode: String?
    var Dns: [String]?
    var DnsOptions: [String]?
    var DnsSearch: [String]?
    var ExtraHosts: [String]?
    var Privileged: Bool?
    var CapAdd: [String]?
    var CapDrop: [String]?
    var SecurityOpt: [String]?
    var GroupAdd: [String]?
    var Memory: Int64?
    var MemorySwap: Int64?
    var NanoCpus: Int64?
    var CpuShares: Int64?
    var CpuQuota: Int64?
    var CpuPeriod: Int64?
    var CpusetCpus: String?
    var PidsLimit: Int64?
    var ShmSize: Int64?
    var Ulimits: [Ulimit]?
    var Sysctls: [String: String]?
    var ReadonlyRootfs: Bool?
    var Init: Bool?
    var PidMode: String?
    var IpcMode: String?
    var UTSMode: String?
    var CgroupParent: String?
    var RestartPolicy: Restart?
    var LogConfig: Log?
    var VolumeDriver: String?
    var VolumesFrom: [String]?
    var Devices: [Device]?

    struct Device: Decodable {
      var PathOnHost: String
      var PathInContainer: String?
      var CgroupPermissions: String?
    }

    struct Log: Decodable {
      var `Type`: String?
      var Config: [String: String]?
    }

    struct Restart: Decodable {
      var Name: String?
      var MaximumRetryCount: Int?
    }

    struct PortBinding: Decodable {
      var HostIp: String?
      var HostPort: String?
    }

    struct Ulimit: Decodable {
      var Name: String
      var Soft: Int64
      var Hard: Int64
    }

    struct Mount: Decodable {
      var `Type`: String?
      var Source: String?
      var Target: String?
      var ReadOnly: Bool?
      var VolumeOptions: VolumeOptions?
      var TmpfsOptions: TmpfsOptions?

      struct VolumeOptions: Decodable { var NoCopy: Bool? }
      struct TmpfsOptions: Decodable {
        var SizeBytes: Int64?
        var Mode: Int?
      }
    }
  }

  struct Networking: Decodable {
    var EndpointsConfig: [String: Endpoint]?
  }

  struct Endpoint: Decodable {
    var Aliases: [String]?
    var IPAMConfig: IPAM?
    var MacAddress: String?

    struct IPAM: Decodable {
      var IPv4Address: String?
      var IPv6Address: String?
    }
  }

  /// Docker sends `Cmd` and `Entrypoint` as a string or a list (and null).
  enum CodingKeys: String, CodingKey {
    case Image, Cmd, Entrypoint, Env, WorkingDir, User, Hostname, Domainname, Tty, OpenStdin
    case Labels, StopSignal, StopTimeout, ExposedPorts, Volumes, Healthcheck, NetworkDisabled
    case HostConfig, NetworkingConfig
  }

  init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    Image = try c.decodeIfPresent(String.self, forKey: .Image)
    Cmd = try Self.list(c, .Cmd)
    Entrypoint = try Self.list(c, .Entrypoint)
    Env = try c.decodeIfPresent([String].self, forKey: .Env)
    WorkingDir = try c.decodeIfPresent(String.self, forKey: .WorkingDir)
    User = try c.decodeIfPresent(String.self, forKey: .User)
    Hostname = try c.decodeIfPresent(String.self, forKey: .Hostname)
    Domainname = try c.decodeIfPresent(String.self, forKey: .Domainname)
    Tty = try c.decodeIfPresent(Bool.self, forKey: .Tty)
    OpenStdin = try c.decodeIfPresent(Bool.self, forKey: .OpenStdin)
    Labels = try c.decodeIfPresent([String: String].self, forKey: .Labels)
    StopSignal = try c.decodeIfPresent(String.self, forKey: .StopSignal)
    StopTimeout = try c.decodeIfPresent(Int.self, forKey: .StopTimeout)
    ExposedPorts = try c.decodeIfPresent([String: Empty].self, forKey: .ExposedPorts)
    Volumes = try c.decodeIfPresent([String: Empty].self, forKey: .Volumes)
    Healthcheck = try c.decodeIfPresent(Health.self, forKey: .Healthcheck)
    NetworkDisabled = try c.decodeIfPresent(Bool.self, forKey: .NetworkDisabled)
    HostConfig = try c.decodeIfPresent(Host.self, forKey: .HostConfig)
    NetworkingConfig = try c.decodeIfPresent(Networking.self, forKey: .NetworkingConfig)
  }

  static func list(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String]? {
    if let text = try? c.decodeIfPresent(String.self, forKey: key) { return [text] }
    return try c.decodeIfPresent([String].self, forKey: key)
  }
}

extension ContainerCreateBody {
  /// The engine's config for this body, checked as the CLI checks flags.
  func containerConfig(rootless: Bool) throws(BerthError) -> ContainerConfig {
    var config = ContainerConfig()
    config.command = Cmd
    config.entrypoint = Entrypoint
    config.env = Env ?? []
    if let ExposedPorts, !ExposedPorts.isEmpty { config.exposedPorts = ExposedPorts.keys.sorted() }
    config.workingDir = nonEmpty(WorkingDir)
    config.user = nonEmpty(User)
    config.hostname = nonEmpty(Hostname)
    config.tty = Tty ?? false
    config.interactive = OpenStdin ?? false
    config.labels = Labels ?? [:]
    if let signal = nonEmpty(StopSignal) { _ = try Signal.parse(signal) }
    config.stopSignal = nonEmpty(StopSignal)
    config.stopTimeout = StopTimeout
    if let health = Healthcheck, let test = health.Test, !test.isEmpty {
      if test == ["NONE"] {
        config.noHealthcheck = true
      } else {
        guard ["CMD", "CMD-SHELL"].contains(test[0]) else {
          throw BerthError(
            .invalidArgument, "invalid Healthcheck.Test \(test)",
            hint: "start it with CMD, CMD-SHELL or NONE")
        }
        var check = HealthConfig(test: test)
        func seconds(_ ns: Int64?) -> Double? { ns.flatMap { $0 > 0 ? Double($0) / 1e9 : nil } }
        check.intervalSeconds = seconds(health.Interval) ?? check.intervalSeconds
        check.timeoutSeconds = seconds(health.Timeout) ?? check.timeoutSeconds
        check.startPeriodSeconds = seconds(health.StartPeriod) ?? check.startPeriodSeconds
        if let retries = health.Retries, retries > 0 { check.retries = retries }
        config.health = check
      }
    }
    try apply(HostConfig ?? Host(), to: &config, rootless: rootless)
    // Config.Volumes lists every volume path, those Binds fill too (compose
    // sends both): only the rest become anonymous volumes.
    let covered = Set(config.mounts.map(\.destination))
    for path in (Volumes ?? [:]).keys.sorted() where !covered.contains(path) {
      config.mounts.append(MountRequest(kind: .volume, source: "", destination: path))
    }
    return config
  }

  private func apply(_ host: Host, to config: inout ContainerConfig, rootless: Bool)
    throws(BerthError)
  {
    config.autoRemove = host.AutoRemove ?? false
    config.privileged = host.Privileged ?? false
    config.capAdd = host.CapAdd ?? []
    config.capDrop = host.CapDrop ?? []
    config.groupAdd = host.GroupAdd ?? []
    config.readOnly = host.ReadonlyRootfs ?? false
    config.initProcess = host.Init ?? false
    config.sysctls = host.Sysctls ?? [:]
    config.cgroupParent = nonEmpty(host.CgroupParent)
    config.pidMode = nonEmpty(host.PidMode)
    config.ipcMode = nonEmpty(host.IpcMode)
    config.utsMode = nonEmpty(host.UTSMode)
    try applyResources(host, to: &config)
    for option in host.SecurityOpt ?? [] {
      // Docker's `key=value` and its older `key:value`.
      let separator: Character = option.contains("=") ? "=" : ":"
      let parts = option.split(separator: separator, maxSplits: 1).map(String.init)
      switch (parts.first ?? "", parts.count) {
      case ("no-new-privileges", _): config.noNewPrivileges = parts.count == 1 || parts[1] == "true"
      case ("seccomp", 2): config.seccompProfile = parts[1]
      case ("label", _), ("apparmor", _): break
      default:
        throw BerthError(
          .invalidArgument, "invalid SecurityOpt \"\(option)\"",
          hint: "use no-new-privileges, seccomp=unconfined|PROFILE, label=... or apparmor=...")
      }
    }
    for limit in host.Ulimits ?? [] {
      let text = "\(limit.Name)=\(limit.Soft):\(limit.Hard)"
      _ = try SpecBuilder.parseUlimit(text)
      config.ulimits.append(text)
    }
    // Docker's default driver, which docker's clients expect to read back.
    let driver = nonEmpty(host.LogConfig?.Type) ?? "json-file"
    guard ["json-file", "k8s-file", "none", "passthrough"].contains(driver) else {
      throw BerthError(
        .invalidArgument, "log driver \(driver) is not supported",
        hint: "use json-file, k8s-file or none")
    }
    config.logDriver = driver
    for (key, value) in host.LogConfig?.Config ?? [:] {
      guard key == "max-size" else {
        throw BerthError(
          .invalidArgument, "log option \(key) is not supported", hint: "use max-size")
      }
      config.logMaxSize = try parseSize(value, what: "log option max-size")
    }
    // As `--device HOST[:CONTAINER[:PERMISSIONS]]`.
    config.devices = (host.Devices ?? []).map { device in
      [device.PathOnHost, device.PathInContainer ?? "", device.CgroupPermissions ?? ""]
        .reversed().drop { $0.isEmpty }.reversed().joined(separator: ":")
    }
    if let restart = nonEmpty(host.RestartPolicy?.Name) {
      var policy = try RestartPolicy(parsing: restart)
      policy.maxRetries = host.RestartPolicy?.MaximumRetryCount ?? 0
      config.restart = policy
    }
    if let driver = nonEmpty(host.VolumeDriver), driver != "local" {
      throw BerthError(
        .unsupported, "volume driver \(driver) is not supported", hint: "use local")
    }
    guard (host.VolumesFrom ?? []).isEmpty else {
      throw BerthError(
        .unsupported, "VolumesFrom is not supported", hint: "name the volumes in Binds or Mounts")
    }
    for bind in host.Binds ?? [] { config.mounts.append(try Self.bind(bind)) }
    for mount in host.Mounts ?? [] { config.mounts.append(try Self.mount(mount)) }
    for (path, options) in (host.Tmpfs ?? [:]).sorted(by: { $0.key < $1.key }) {
      var request = MountRequest(kind: .tmpfs, source: "tmpfs", destination: path)
      request.options = options.split(separator: ",").map(String.init)
      config.mounts.append(request)
    }
    try applyNetwork(host, to: &config, rootless: rootless)
  }

  private func applyResources(_ host: Host, to config: inout ContainerConfig) throws(BerthError) {
    config.memory = positive(host.Memory)
    config.memorySwap = host.MemorySwap == -1 ? -1 : positive(host.MemorySwap)
    if let nano = positive(host.NanoCpus) {
      config.cpus = Double(nano) / 1e9
    } else if let quota = positive(host.CpuQuota) {
      config.cpus = Double(quota) / Double(positive(host.CpuPeriod) ?? 100_000)
    }
    if let shares = positive(host.CpuShares) {
      guard shares >= 2 else {
        throw BerthError(
          .invalidArgument, "CpuShares must be at least 2",
          hint: "give 2 or more, or 0 for the default")
      }
      config.cpuShares = UInt64(shares)
    }
    config.cpusetCpus = nonEmpty(host.CpusetCpus)
    if let pids = host.PidsLimit, pids != 0 { config.pidsLimit = pids < 0 ? -1 : pids }
    config.shmSize = positive(host.ShmSize)
  }

  private func applyNetwork(_ host: Host, to config: inout ContainerConfig, rootless: Bool)
    throws(BerthError)
  {
    var network = NetworkFlags()
    network.dnsServers = host.Dns ?? []
    network.dnsSearch = host.DnsSearch ?? []
    network.dnsOptions = host.DnsOptions ?? []
    network.addHosts = host.ExtraHosts ?? []
    network.publishAll = host.PublishAllPorts ?? false
    for (port, bindings) in (host.PortBindings ?? [:]).sorted(by: { $0.key < $1.key }) {
      for binding in bindings ?? [] {
        var text = port
        let hostPort = binding.HostPort ?? ""
        if let ip = nonEmpty(binding.HostIp) {
          text = "\(ip.contains(":") ? "[\(ip)]" : ip):\(hostPort):\(port)"
        } else if !hostPort.isEmpty {
          text = "\(hostPort):\(port)"
        }
        network.ports.append(text)
      }
    }
    let endpoints = NetworkingConfig?.EndpointsConfig ?? [:]
    let mode = NetworkDisabled == true ? "none" : (host.NetworkMode ?? "default")
    switch mode {
    case "", "default", "bridge":
      // The CLI keys --ip and --mac-address without --network as "default".
      let endpoint = endpoints["bridge"] ?? endpoints["default"]
      if let options = endpoint.map(Self.endpointOptions), !options.isEmpty {
        network.networks = ["bridge:" + options]
      }
    case "none", "host", "private":
      network.networks = [mode]
    case let named where named.hasPrefix("container:"):
      network.networks = [named]
    case let named:
      let options = endpoints[named].map(Self.endpointOptions) ?? ""
      network.networks = [options.isEmpty ? named : named + ":" + options]
      // API 1.44 and later send every network at create (docker run
      // --network a --network b, compose v2): the others join too.
      for (other, endpoint) in endpoints.sorted(by: { $0.key < $1.key })
      where other != named && other != "default" {
        let extra = Self.endpointOptions(endpoint)
        network.networks.append(extra.isEmpty ? other : other + ":" + extra)
      }
    }
    try network.apply(to: &config, rootless: rootless)
  }

  /// An endpoint's aliases and addresses in the CLI's `NAME:alias=...` form.
  static func endpointOptions(_ endpoint: Endpoint) -> String {
    var options = (endpoint.Aliases ?? []).map { "alias=\($0)" }
    if let ip = endpoint.IPAMConfig?.IPv4Address, !ip.isEmpty { options.append("ip=\(ip)") }
    if let ip = endpoint.IPAMConfig?.IPv6Address, !ip.isEmpty { options.append("ip6=\(ip)") }
    if let mac = endpoint.MacAddress, !mac.isEmpty { options.append("mac=\(mac)") }
    return options.joined(separator: ",")
  }

  /// `SOURCE:DEST[:OPTIONS]`: a host path (absolute) or a named volume.
  static func bind(_ text: String) throws(BerthError) -> MountRequest {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    // A destination alone is an anonymous volume, as docker reads it.
    if parts.count == 1, text.hasPrefix("/") {
      return MountRequest(kind: .volume, source: "", destination: text)
    }
    guard (2...3).contains(parts.count), !parts[0].isEmpty, parts[1].hasPrefix("/") else {
      throw BerthError(
        .invalidArgument, "invalid bind \"\(text)\"",
        hint: "use SOURCE:DEST[:ro] with DEST absolute")
    }
    var mount = MountRequest(
      kind: parts[0].hasPrefix("/") ? .bind : .volume, source: parts[0], destination: parts[1])
    if mount.kind == .volume { try VolumeNames.validate(parts[0]) }
    for option in parts.count == 3 ? parts[2].split(separator: ",") : [] {
      switch option {
      case "ro": mount.readOnly = true
      case "rw", "z", "Z", "rprivate", "private", "rshared", "shared", "rslave", "slave": break
      case "nocopy": mount.noCopy = true
      default:
        throw BerthError(
          .invalidArgument, "invalid bind option \"\(option)\" in \"\(text)\"",
          hint: "use ro, rw, z, Z or nocopy")
      }
    }
    return mount
  }

  static func mount(_ mount: Host.Mount) throws(BerthError) -> MountRequest {
    guard let target = mount.Target, target.hasPrefix("/") else {
      throw BerthError(
        .invalidArgument, "a mount needs an absolute Target",
        hint: "give the path inside the container, starting with /")
    }
    var request: MountRequest
    switch mount.Type ?? "volume" {
    case "bind":
      guard let source = mount.Source, source.hasPrefix("/") else {
        throw BerthError(
          .invalidArgument, "a bind mount needs an absolute Source",
          hint: "give the host path, starting with /")
      }
      request = MountRequest(kind: .bind, source: source, destination: target)
    case "volume":
      let source = mount.Source ?? ""
      if !source.isEmpty { try VolumeNames.validate(source) }
      request = MountRequest(kind: .volume, source: source, destination: target)
      request.noCopy = mount.VolumeOptions?.NoCopy ?? false
    case "tmpfs":
      request = MountRequest(kind: .tmpfs, source: "tmpfs", destination: target)
      if let size = mount.TmpfsOptions?.SizeBytes, size > 0 {
        request.options.append("size=\(size)")
      }
      if let mode = mount.TmpfsOptions?.Mode, mode > 0 {
        request.options.append("mode=" + String(mode, radix: 8))
      }
    case let other:
      throw BerthError(
        .invalidArgument, "mount type \"\(other)\" is not supported",
        hint: "use bind, volume or tmpfs")
    }
    request.readOnly = mount.ReadOnly ?? false
    return request
  }
}

private func nonEmpty(_ text: String?) -> String? {
  guard let text, !text.isEmpty else { return nil }
  return text
}

private func positive(_ value: Int64?) -> Int64? {
  guard let value, value > 0 else { return nil }
  return value
}
