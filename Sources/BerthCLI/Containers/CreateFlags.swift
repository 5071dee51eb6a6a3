// The flags `run` and `create` share, with podman's names, turned into the
// engine's ContainerConfig. Values are checked here so that a bad one is a
// one-line error before anything is created.
import ArgumentParser
import BerthEngine
import BerthImage
import BerthMonitor
import BerthOCI
import BerthSystem
import Foundation

struct CreateFlags: ParsableArguments {
  @Flag(name: .shortAndLong, help: "Keep stdin open.") var interactive = false
  @Flag(name: .shortAndLong, help: "Allocate a pseudo-terminal.") var tty = false
  @Flag(help: "Remove the container when it exits.") var rm = false
  @Option(help: "Name of the container.") var name: String?
  @Option(
    name: .shortAndLong, help: "Set an environment variable (NAME=VALUE, or NAME to copy ours).")
  var env: [String] = []
  @Option(name: .customLong("env-file"), help: "Read environment variables from a file.")
  var envFile: [String] = []
  @Flag(name: .customLong("env-host"), help: "Copy this environment into the container.")
  var envHost = false
  @Option(
    name: [.short, .customLong("volume")], help: "Bind or volume mount SOURCE:DEST[:OPTIONS].")
  var volume: [String] = []
  @Option(help: "Mount type=bind|volume|tmpfs,source=...,destination=...[,ro].") var mount:
    [String] = []
  @Option(help: "Mount a tmpfs at DEST[:OPTIONS].") var tmpfs: [String] = []
  @Option(name: .customLong("volume-driver"), help: "Driver of new volumes (local).")
  var volumeDriver: String?
  @Option(name: [.short, .customLong("workdir")], help: "Working directory in the container.")
  var workdir: String?
  @Option(name: .shortAndLong, help: "User (name or uid, optionally :group).") var user: String?
  @Option(name: .customLong("group-add"), help: "Additional groups.") var groupAdd: [String] = []
  @Option(help: "Override the image's entrypoint.") var entrypoint: String?
  @Option(name: [.customShort("h"), .customLong("hostname")], help: "Container host name.")
  var hostname: String?
  @Flag(name: .customLong("read-only"), help: "Mount the root filesystem read-only.")
  var readOnly = false
  @Option(
    name: .customLong("read-only-tmpfs"), help: "With --read-only, tmpfs on /tmp, /var/tmp, /run.")
  var readOnlyTmpfs = true
  @Option(name: .shortAndLong, help: "Memory limit (e.g. 64m).") var memory: String?
  @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit (-1: unlimited).")
  var memorySwap: String?
  @Option(help: "CPUs (e.g. 1.5).") var cpus: String?
  @Option(name: [.short, .customLong("cpu-shares")], help: "CPU shares.") var cpuShares: String?
  @Option(name: .customLong("cpuset-cpus"), help: "CPUs to run on (e.g. 0-1).") var cpusetCpus:
    String?
  @Option(name: .customLong("pids-limit"), help: "Maximum number of processes.") var pidsLimit:
    String?
  @Option(name: .customLong("shm-size"), help: "Size of /dev/shm.") var shmSize: String?
  @Option(help: "Add a host device HOST[:CONTAINER][:rwm].") var device: [String] = []
  @Option(name: .customLong("cap-add"), help: "Add a capability.") var capAdd: [String] = []
  @Option(name: .customLong("cap-drop"), help: "Drop a capability.") var capDrop: [String] = []
  @Flag(help: "Give the container all capabilities and devices.") var privileged = false
  @Option(
    name: .customLong("security-opt"),
    help: "no-new-privileges, seccomp=unconfined|FILE, mask=, unmask=.")
  var securityOpt: [String] = []
  @Option(help: "Set a namespaced kernel parameter NAME=VALUE.") var sysctl: [String] = []
  @Flag(help: "Run a tiny init as PID 1 that reaps zombies and forwards signals.") var `init` =
    false
  @Option(help: "Resource limit TYPE=SOFT[:HARD].") var ulimit: [String] = []
  @Option(help: "Restart policy: no, on-failure[:N], always, unless-stopped.") var restart: String?
  @Option(name: .customLong("stop-signal"), help: "Signal that stops the container.")
  var stopSignal: String?
  @Option(name: .customLong("stop-timeout"), help: "Seconds to wait before killing.")
  var stopTimeout: Int?
  @Option(name: [.short, .customLong("label")], help: "Label KEY=VALUE.") var label: [String] = []
  @Option(help: "Annotation KEY=VALUE.") var annotation: [String] = []
  @Option(name: .customLong("health-cmd"), help: "Health check command.") var healthCmd: String?
  @Option(name: .customLong("health-interval"), help: "Time between checks (e.g. 30s).")
  var healthInterval: String?
  @Option(name: .customLong("health-retries"), help: "Failures before unhealthy.")
  var healthRetries: Int?
  @Option(name: .customLong("health-timeout"), help: "Maximum time of a check.") var healthTimeout:
    String?
  @Option(name: .customLong("health-start-period"), help: "Grace period after start.")
  var healthStartPeriod: String?
  @Flag(name: .customLong("no-healthcheck"), help: "Disable the image's health check.")
  var noHealthcheck = false
  @Option(help: "Pull policy: always, missing, never, newer.") var pull = "missing"
  @Option(
    name: [.customLong("network"), .customLong("net")],
    help: "bridge, NAME[:alias=,ip=,mac=], none, host, container:NAME or ns:PATH.")
  var network: [String] = []
  @Option(
    name: [.customShort("p"), .customLong("publish")], help: "Publish [[IP:]HOST:]PORT[/PROTO].")
  var publish: [String] = []
  @Flag(name: [.customShort("P"), .customLong("publish-all")], help: "Publish exposed ports.")
  var publishAll = false
  @Option(help: "IPv4 address on the first network.") var ip: String?
  @Option(help: "IPv6 address on the first network.") var ip6: String?
  @Option(name: .customLong("mac-address"), help: "MAC address on the first network.")
  var macAddress: String?
  @Option(name: .customLong("network-alias"), help: "DNS alias on the first network.")
  var networkAlias: [String] = []
  @Option(help: "DNS server.") var dns: [String] = []
  @Option(name: .customLong("dns-search"), help: "DNS search domain.") var dnsSearch: [String] = []
  @Option(name: [.customLong("dns-option"), .customLong("dns-opt")], help: "DNS resolver option.")
  var dnsOption: [String] = []
  @Option(name: .customLong("add-host"), help: "Add NAME:IP to /etc/hosts.") var addHost: [String] =
    []
  @Option(help: "PID namespace: host, private or container:NAME.") var pid: String?
  @Option(help: "IPC namespace: host, private, shareable or container:NAME.") var ipc: String?
  @Option(help: "UTS namespace: host or private.") var uts: String?
  @Option(help: "User namespace: host, keep-id[:uid=U,gid=G], nomap or auto[:size=N].")
  var userns: String?
  @Option(help: "A uid range of a new user namespace: CONTAINER:HOST:SIZE (repeatable).")
  var uidmap: [String] = []
  @Option(help: "A gid range of a new user namespace: CONTAINER:HOST:SIZE (repeatable).")
  var gidmap: [String] = []
  @Option(name: .customLong("cgroup-parent"), help: "Parent cgroup.") var cgroupParent: String?
  @Option(help: "Cgroup namespace: host or private.") var cgroupns: String?
  @Option(
    name: .customLong("log-driver"), help: "k8s-file (default), json-file, none or passthrough.")
  var logDriver: String?
  @Option(name: .customLong("log-opt"), help: "Log option, e.g. max-size=10m.") var logOpt:
    [String] = []
  @Option(help: "OCI runtime: berth's own by default.") var runtime: String?
  @Option(name: .customLong("cidfile"), help: "Write the container id to this file.") var cidfile:
    String?
  @Option(help: "Platform: only the host's.") var platform: String?
  @Option(help: "Seconds the container may run before it is killed (0: no limit).") var timeout:
    Int?

  func validatedName() throws -> String? { name }

  /// The config these flags describe.
  func config(command: [String]) throws -> ContainerConfig {
    var config = ContainerConfig()
    if !command.isEmpty { config.command = command }
    if let entrypoint {
      config.entrypoint =
        entrypoint.isEmpty
        ? [] : (entrypoint.hasPrefix("[") ? try parseJSONArray(entrypoint) : [entrypoint])
    }
    var env: [String] = []
    if envHost {
      env += ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }.sorted()
    }
    for file in envFile {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
        throw BerthError(.notFound, "cannot read env file \(file)")
      }
      for line in text.split(separator: "\n") {
        let entry = line.trimmingCharacters(in: .whitespaces)
        if entry.isEmpty || entry.hasPrefix("#") { continue }
        env.append(expandEnv(entry))
      }
    }
    env += self.env.map(expandEnv)
    config.env = env
    config.workingDir = workdir
    config.user = user
    config.groupAdd = groupAdd
    config.hostname = hostname
    config.tty = tty
    config.interactive = interactive
    config.autoRemove = rm
    config.labels = try keyValues(label, what: "label")
    config.annotations = try keyValues(annotation, what: "annotation")
    config.readOnly = readOnly
    config.readOnlyTmpfs = readOnlyTmpfs
    config.memory = try memory.map { try parseSize($0, what: "--memory") }
    config.memorySwap = try memorySwap.map {
      $0 == "-1" ? -1 : try parseSize($0, what: "--memory-swap")
    }
    if let cpus {
      guard let value = Double(cpus), value > 0,
        value <= Double(ProcessInfo.processInfo.processorCount) * 1000
      else {
        throw BerthError(
          .invalidArgument, "invalid --cpus \"\(cpus)\"", hint: "give a positive number such as 0.5"
        )
      }
      config.cpus = value
    }
    if let cpuShares {
      guard let value = UInt64(cpuShares), value >= 2 else {
        throw BerthError(
          .invalidArgument, "invalid --cpu-shares \"\(cpuShares)\"",
          hint: "give a number of at least 2")
      }
      config.cpuShares = value
    }
    config.cpusetCpus = cpusetCpus
    if let pidsLimit {
      guard let value = Int64(pidsLimit), value >= -1, value != 0 else {
        throw BerthError(
          .invalidArgument, "invalid --pids-limit \"\(pidsLimit)\"",
          hint: "give a positive number, or -1")
      }
      config.pidsLimit = value
    }
    config.shmSize = try shmSize.map { try parseSize($0, what: "--shm-size") }
    config.devices = device
    config.capAdd = capAdd
    config.capDrop = capDrop
    config.privileged = privileged
    for option in securityOpt {
      let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
      switch (parts[0], parts.count) {
      case ("no-new-privileges", _): config.noNewPrivileges = parts.count == 1 || parts[1] == "true"
      case ("seccomp", 2): config.seccompProfile = parts[1]
      case ("mask", 2): config.mask += parts[1].split(separator: ":").map(String.init)
      case ("unmask", 2): config.unmask += parts[1].split(separator: ":").map(String.init)
      // No SELinux or AppArmor here: accepted, as podman does on such hosts.
      case ("label", _), ("apparmor", _): break
      default:
        throw BerthError(
          .invalidArgument, "invalid --security-opt \"\(option)\"",
          hint: "use no-new-privileges, seccomp=unconfined|FILE, mask=PATHS or unmask=PATHS")
      }
    }
    config.sysctls = try keyValues(sysctl, what: "sysctl")
    config.initProcess = self.`init`
    _ = try ulimit.map { try SpecBuilder.parseUlimit($0) }
    config.ulimits = ulimit
    if let restart { config.restart = try RestartPolicy(parsing: restart) }
    if rm && config.restart.name != "no" {
      throw BerthError(
        .invalidArgument, "--rm and --restart \(config.restart.name) cannot be used together")
    }
    if let stopSignal { _ = try Signal.parse(stopSignal) }
    config.stopSignal = stopSignal
    config.noHealthcheck = noHealthcheck
    if let timeout {
      guard timeout >= 0 else {
        throw BerthError(
          .invalidArgument, "invalid --timeout \(timeout)", hint: "give seconds, 0 for none")
      }
      config.timeout = timeout == 0 ? nil : timeout
    }
    config.stopTimeout = stopTimeout
    if let healthCmd, !noHealthcheck {
      var health = HealthConfig(
        test: healthCmd.hasPrefix("[")
          ? ["CMD"] + (try parseJSONArray(healthCmd)) : ["CMD-SHELL", healthCmd])
      if let healthInterval {
        health.intervalSeconds = try parseDuration(healthInterval, what: "--health-interval")
      }
      if let healthTimeout {
        health.timeoutSeconds = try parseDuration(healthTimeout, what: "--health-timeout")
      }
      if let healthStartPeriod {
        health.startPeriodSeconds = try parseDuration(
          healthStartPeriod, what: "--health-start-period")
      }
      if let healthRetries {
        guard healthRetries > 0 else {
          throw BerthError(.invalidArgument, "--health-retries must be positive")
        }
        health.retries = healthRetries
      }
      config.health = health
    }
    guard ["always", "missing", "never", "newer"].contains(pull) else {
      throw BerthError(
        .invalidArgument, "invalid --pull \"\(pull)\"", hint: "use always, missing, never or newer")
    }
    var networkFlags = NetworkFlags()
    networkFlags.networks = network
    networkFlags.ip = ip
    networkFlags.ip6 = ip6
    networkFlags.mac = macAddress
    networkFlags.aliases = networkAlias
    networkFlags.ports = publish
    networkFlags.publishAll = publishAll
    networkFlags.dnsServers = dns
    networkFlags.dnsSearch = dnsSearch
    networkFlags.dnsOptions = dnsOption
    networkFlags.addHosts = addHost
    try networkFlags.apply(to: &config, rootless: geteuid() != 0)
    config.pidMode = try namespaceMode(pid, what: "--pid", allowed: ["host", "private"])
    config.ipcMode = try namespaceMode(
      ipc, what: "--ipc", allowed: ["host", "private", "shareable", "none"])
    config.utsMode = try namespaceMode(uts, what: "--uts", allowed: ["host", "private"])
    config.userns = userns
    config.uidMap = try IDMaps.parse(uidmap, flag: "--uidmap")
    config.gidMap = try IDMaps.parse(gidmap, flag: "--gidmap")
    config.cgroupParent = cgroupParent
    if let cgroupns {
      guard cgroupns == "host" || cgroupns == "private" else {
        throw BerthError(
          .invalidArgument, "invalid --cgroupns \"\(cgroupns)\"", hint: "use host or private")
      }
      config.cgroupns = cgroupns
    }
    if let logDriver {
      guard ["k8s-file", "json-file", "none", "passthrough"].contains(logDriver) else {
        throw BerthError(
          .invalidArgument, "invalid --log-driver \"\(logDriver)\"",
          hint: "use k8s-file, json-file, none or passthrough")
      }
      config.logDriver = logDriver
    }
    for option in logOpt {
      let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, parts[0] == "max-size" else {
        throw BerthError(
          .invalidArgument, "invalid --log-opt \"\(option)\"", hint: "use max-size=SIZE")
      }
      config.logMaxSize = try parseSize(parts[1], what: "--log-opt max-size")
    }
    if let runtime, runtime != "berth" {
      // Checked now, so a missing runtime fails before anything is created.
      _ = try OCIRuntimeCommand.resolve(runtime)
      config.runtime = runtime
    }
    if let platform {
      try Platform.requireHost(platform, hint: "berth runs images of the host's platform only")
    }
    if let volumeDriver, volumeDriver != "local" {
      throw BerthError(
        .unsupported, "volume driver \"\(volumeDriver)\" is not supported", hint: "use local")
    }
    for text in volume { config.mounts.append(try parseVolume(text)) }
    for text in mount { config.mounts.append(try parseMount(text)) }
    for text in tmpfs {
      let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
      var request = MountRequest(kind: .tmpfs, source: "tmpfs", destination: parts[0])
      if parts.count == 2 { request.options = parts[1].split(separator: ",").map(String.init) }
      config.mounts.append(request)
    }
    return config
  }

  func namespaceMode(_ value: String?, what: String, allowed: [String]) throws -> String? {
    guard let value else { return nil }
    if allowed.contains(value) || value.hasPrefix("container:") || value.hasPrefix("ns:") {
      return value
    }
    throw BerthError(
      .invalidArgument, "invalid \(what) \"\(value)\"",
      hint: "use " + allowed.joined(separator: ", ") + " or container:NAME")
  }

  /// `NAME` alone copies our value, as podman does.
  func expandEnv(_ entry: String) -> String {
    if entry.contains("=") { return entry }
    return "\(entry)=\(ProcessInfo.processInfo.environment[entry] ?? "")"
  }

  /// `-v SOURCE:DEST[:OPTIONS]`, `-v DEST` (anonymous volume).
  func parseVolume(_ text: String) throws -> MountRequest {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard (1...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
      throw BerthError(
        .invalidArgument, "invalid volume \"\(text)\"", hint: "use SOURCE:DEST[:OPTIONS]")
    }
    if parts.count == 1 {
      return MountRequest(kind: .volume, source: "", destination: parts[0])
    }
    let source = parts[0]
    var request = MountRequest(
      kind: source.hasPrefix("/") || source.hasPrefix(".") ? .bind : .volume,
      source: source.hasPrefix(".")
        ? FileManager.default.currentDirectoryPath + "/" + source : source,
      destination: parts[1])
    if request.kind == .volume { try VolumeNames.validate(source) }
    if parts.count == 3 {
      for option in parts[2].split(separator: ",") {
        switch option {
        case "ro": request.readOnly = true
        case "rw", "z", "Z", "rprivate", "private", "rshared", "shared", "rslave", "slave": break
        case "U": request.chown = true
        case "nocopy": request.noCopy = true
        case "noexec", "exec", "nosuid", "suid", "nodev", "dev":
          request.options.append(String(option))
        default:
          throw BerthError(
            .invalidArgument, "invalid volume option \"\(option)\" in \"\(text)\"",
            hint: "use ro, rw, z, Z, U or nocopy")
        }
      }
    }
    return request
  }

  /// `--mount type=...,source=...,destination=...[,ro]`.
  func parseMount(_ text: String) throws -> MountRequest {
    var fields: [String: String] = [:]
    var readOnly = false
    for item in text.split(separator: ",") {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 1 {
        if parts[0] == "ro" || parts[0] == "readonly" {
          readOnly = true
          continue
        }
        if parts[0] == "nocopy" || parts[0] == "volume-nocopy" {
          fields["nocopy"] = "true"
          continue
        }
        throw BerthError(.invalidArgument, "invalid --mount field \"\(item)\"")
      }
      fields[parts[0]] = parts[1]
    }
    guard let type = fields["type"], let kind = MountRequest.Kind(rawValue: type) else {
      throw BerthError(
        .invalidArgument, "invalid --mount \"\(text)\"", hint: "type must be bind, volume or tmpfs")
    }
    guard let destination = fields["destination"] ?? fields["dst"] ?? fields["target"] else {
      throw BerthError(.invalidArgument, "--mount \"\(text)\" has no destination")
    }
    var request = MountRequest(
      kind: kind, source: fields["source"] ?? fields["src"] ?? "", destination: destination)
    request.readOnly = readOnly || fields["ro"] == "true" || fields["readonly"] == "true"
    request.noCopy = fields["nocopy"] == "true" || fields["volume-nocopy"] == "true"
    if kind == .bind && request.source.isEmpty {
      throw BerthError(.invalidArgument, "--mount \"\(text)\" needs a source")
    }
    if kind == .volume && !request.source.isEmpty { try VolumeNames.validate(request.source) }
    if kind == .tmpfs {
      request.source = "tmpfs"
      if let size = fields["tmpfs-size"] { request.options.append("size=\(size)") }
      if let mode = fields["tmpfs-mode"] { request.options.append("mode=\(mode)") }
    }
    return request
  }
}

func keyValues(_ items: [String], what: String) throws -> [String: String] {
  var result: [String: String] = [:]
  for item in items {
    let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
    guard let key = parts.first, !key.isEmpty else {
      throw BerthError(.invalidArgument, "invalid \(what) \"\(item)\"", hint: "use KEY=VALUE")
    }
    result[key] = parts.count == 2 ? parts[1] : ""
  }
  return result
}

/// Sizes as docker reads them: a number with an optional b, k, m or g.
func parseJSONArray(_ text: String) throws -> [String] {
  guard let array = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
    throw BerthError(.invalidArgument, "invalid JSON array \(text)")
  }
  return array
}
