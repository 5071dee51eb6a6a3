// Inspection shapes shared by the CLI (`berth inspect`) and the API
// service: podman's container inspect (docker's field names), docker's
// NetworkSettings, a volume's inspect, and the PascalCase JSON encoder
// that spells their keys as Go does.
import BerthImage
import BerthMonitor
import BerthOCI
import BerthSystem
import FoundationEssentials

public struct InspectedVolume: Encodable {
  var name: String
  var driver: String
  var mountpoint: String
  var createdAt: String
  var labels: [String: String]
  var options: [String: String]
  var scope = "local"
  var anonymous: Bool

  public init(_ volume: Volume) {
    name = volume.name
    driver = volume.driver
    mountpoint = volume.mountpoint
    createdAt = volume.created
    labels = volume.labelMap
    options = volume.optionMap
    anonymous = volume.anonymous
  }
}

/// podman's container inspect fields that tools read (docker's API reads
/// the same shape, with its own Name and Image spellings).
public struct InspectedContainer: Encodable {
  struct StateInfo: Encodable {
    var ociVersion = "1.2.0"
    var status: String
    var running: Bool
    var paused: Bool
    var restarting = false
    var oomKilled = false
    var dead = false
    var pid: Int32
    var exitCode: Int32
    var error: String
    var startedAt: String
    var finishedAt: String
    var health: Health?
  }
  struct Health: Encodable {
    var status: String
    var failingStreak: Int
    var log: [LogEntry]
  }
  struct LogEntry: Encodable {
    var start: String
    var end: String
    var exitCode: Int32
    var output: String
  }
  struct MountInfo: Encodable {
    var `type`: String
    var name: String?
    var source: String
    var destination: String
    var driver: String
    var mode: String
    var options: [String]
    var rw: Bool
    var propagation: String
  }
  struct ConfigInfo: Encodable {
    var hostname: String
    var user: String
    var env: [String]
    var cmd: [String]?
    var image: String
    var workingDir: String
    var entrypoint: [String]?
    var labels: [String: String]
    var annotations: [String: String]
    var stopSignal: String
    var stopTimeout: Int
    var tty: Bool
    var openStdin: Bool
    var healthcheck: HealthcheckConfig?
    /// The image's and the container's published ports ("80/tcp": {}).
    var exposedPorts: [String: EmptyObject]?
  }
  struct HealthcheckConfig: Encodable {
    var test: [String]
    var interval: Int64
    var timeout: Int64
    var startPeriod: Int64
    var retries: Int
  }
  struct HostConfigInfo: Encodable {
    struct Restart: Encodable {
      var name: String
      var maximumRetryCount: Int
    }
    struct LogConfig: Encodable {
      var `type`: String
      var size: String
      /// The driver's options as given (`--log-opt max-size=1m`).
      var config: [String: String]?
    }
    struct PortBinding: Encodable {
      var hostIp: String
      var hostPort: String
    }
    var binds: [String]
    var networkMode: String
    var portBindings: [String: [PortBinding]]?
    /// `--init`: true, else absent (docker's null).
    var `init`: Bool?
    var restartPolicy: Restart
    var autoRemove: Bool
    var capAdd: [String]
    var capDrop: [String]
    var privileged: Bool
    var readonlyRootfs: Bool
    var memory: Int64
    var memorySwap: Int64
    var nanoCpus: Int64
    var cpuShares: UInt64
    var cpusetCpus: String
    var pidsLimit: Int64
    var shmSize: Int64
    var securityOpt: [String]
    var sysctls: [String: String]
    var ulimits: [String]
    var pidMode: String
    var ipcMode: String
    var utsMode: String
    var cgroupParent: String
    var logConfig: LogConfig
    var devices: [String]
    var tmpfs: [String: String]
    /// "" for the host's, else --userns as given ("private" for --uidmap).
    var usernsMode: String
    struct IDMappings: Encodable {
      var uidMap: [String]
      var gidMap: [String]
    }
    var idMappings: IDMappings?
  }

  var id: String
  var created: String
  var path: String
  var args: [String]
  var state: StateInfo
  public var image: String
  var imageName: String
  var rootfs = ""
  var resolvConfPath: String
  var hostnamePath: String
  var hostsPath: String
  var logPath: String
  public var name: String
  var restartCount: Int
  var driver = "overlay"
  var mounts: [MountInfo]
  var config: ConfigInfo
  var hostConfig: HostConfigInfo
  var networkSettings: NetworkSettings
  var isInfra = false

  public static func make(_ engine: Engine, _ reference: String) throws -> InspectedContainer {
    let container = try engine.refresh(try engine.lookup(reference).id)
    let config = try container.decodedConfig()
    // The image's config is read once, for the command and for the env and
    // ports as the container has them: the image's, then its own.
    var images: [String: ImageConfig.Config] = [:]
    let command =
      (try? engine.containerCommand(container, config: config, images: &images)) ?? []
    let imageConfig = images[container.imageID]
    let env = ContentStore.mergeEnvironment(imageConfig?.env ?? [], config.env)
    var exposed = imageConfig?.exposedPorts ?? [:]
    for port in config.exposedPorts ?? [] { exposed[port] = EmptyObject() }
    var portBindings: [String: [HostConfigInfo.PortBinding]] = [:]
    for port in config.ports ?? [] {
      let key = "\(port.containerPort)/\(port.protocol)"
      exposed[key] = EmptyObject()
      portBindings[key, default: []].append(
        .init(hostIp: port.hostIP, hostPort: port.hostPort == 0 ? "" : "\(port.hostPort)"))
    }
    let status = engine.monitorStatus(container.id)
    let userdata = engine.containerDirectory(container.id) + "/userdata"
    let mounts = config.mounts.map { mount -> MountInfo in
      let source: String
      switch mount.kind {
      case .volume: source = ((try? engine.volume(mount.source))?.mountpoint) ?? ""
      default: source = mount.source
      }
      return MountInfo(
        type: mount.kind.rawValue, name: mount.kind == .volume ? mount.source : nil, source: source,
        destination: mount.destination, driver: mount.kind == .volume ? "local" : "", mode: "",
        options: mount.options, rw: !mount.readOnly,
        propagation: mount.kind == .bind ? "rprivate" : "")
    }
    // The flags' check, or the image's (the monitor reports its state).
    let checked = config.health != nil || container.health != nil
    let health = (checked ? config : nil).map { _ in
      Health(
        status: container.health ?? "starting", failingStreak: status?.failingStreak ?? 0,
        log: (status?.healthLog ?? []).map {
          LogEntry(start: $0.start, end: $0.end, exitCode: $0.exitCode, output: $0.output)
        })
    }
    let zero = "0001-01-01T00:00:00Z"
    let binds: [String] = config.mounts.filter { $0.kind != .tmpfs }.map { mount in
      "\(mount.source):\(mount.destination):\(mount.readOnly ? "ro" : "rw")"
    }
    var tmpfs: [String: String] = [:]
    for mount in config.mounts where mount.kind == .tmpfs {
      tmpfs[mount.destination] = mount.options.joined(separator: ",")
    }
    return InspectedContainer(
      id: container.id, created: container.created, path: command.first ?? "",
      args: Array(command.dropFirst()),
      state: StateInfo(
        status: container.state.rawValue,
        running: container.state == .running || container.state == .paused,
        paused: container.state == .paused, pid: container.state == .running ? container.pid : 0,
        exitCode: container.exitCode ?? 0, error: container.reason ?? "",
        startedAt: container.startedAt ?? zero, finishedAt: container.finishedAt ?? zero,
        health: health),
      image: String(container.imageID.split(separator: ":").last ?? ""),
      imageName: container.imageName,
      resolvConfPath: userdata + "/resolv.conf", hostnamePath: userdata + "/hostname",
      hostsPath: userdata + "/hosts", logPath: userdata + "/ctr.log", name: container.name,
      restartCount: container.restartCount, mounts: mounts,
      config: ConfigInfo(
        hostname: config.hostname ?? container.shortID, user: config.user ?? "", env: env,
        cmd: config.command, image: container.imageName, workingDir: config.workingDir ?? "/",
        entrypoint: config.entrypoint, labels: config.labels, annotations: config.annotations,
        stopSignal: config.stopSignal ?? "SIGTERM", stopTimeout: config.stopTimeout ?? 10,
        tty: config.tty,
        openStdin: config.interactive,
        healthcheck: config.health.map {
          HealthcheckConfig(
            test: $0.test, interval: Int64($0.intervalSeconds * 1e9),
            timeout: Int64($0.timeoutSeconds * 1e9),
            startPeriod: Int64($0.startPeriodSeconds * 1e9), retries: $0.retries)
        }, exposedPorts: exposed.isEmpty ? nil : exposed),
      hostConfig: HostConfigInfo(
        binds: binds,
        networkMode: config.network,
        portBindings: portBindings.isEmpty ? nil : portBindings,
        init: config.initProcess ? true : nil,
        restartPolicy: .init(
          name: config.restart.name, maximumRetryCount: config.restart.maxRetries),
        autoRemove: config.autoRemove, capAdd: config.capAdd, capDrop: config.capDrop,
        privileged: config.privileged, readonlyRootfs: config.readOnly, memory: config.memory ?? 0,
        memorySwap: config.memorySwap ?? 0, nanoCpus: Int64((config.cpus ?? 0) * 1e9),
        cpuShares: config.cpuShares ?? 0, cpusetCpus: config.cpusetCpus ?? "",
        pidsLimit: config.pidsLimit ?? 0,
        shmSize: config.shmSize ?? 65_536_000,
        securityOpt: (config.noNewPrivileges ? ["no-new-privileges"] : [])
          + (config.seccompProfile.map { ["seccomp=\($0)"] } ?? []),
        sysctls: config.sysctls, ulimits: config.ulimits, pidMode: config.pidMode ?? "private",
        ipcMode: config.ipcMode ?? "private", utsMode: config.utsMode ?? "private",
        cgroupParent: config.cgroupParent ?? "/berth",
        logConfig: .init(
          type: config.logDriver, size: config.logMaxSize > 0 ? "\(config.logMaxSize)" : "0B",
          config: config.logMaxSize > 0 ? ["max-size": "\(config.logMaxSize)"] : nil),
        devices: config.devices,
        tmpfs: tmpfs,
        usernsMode: config.userns.flatMap { $0 == "host" ? "" : $0 }
          ?? (config.idMaps != nil ? "private" : ""),
        idMappings: config.idMaps.map {
          .init(uidMap: IDMaps.describe($0.uid), gidMap: IDMaps.describe($0.gid))
        }),
      networkSettings: try NetworkSettings(engine, container, config))
  }
}

extension InspectedContainer {
  /// Docker's API names some things podman's inspect does not: the default
  /// network `bridge` (docker-py reads `Networks["bridge"]`), a network by
  /// its id in NetworkID, `--network none` as a `none` entry, and a port
  /// bound on every address as 0.0.0.0 (`docker port` prints the address).
  public mutating func useDockerNames(_ engine: Engine) {
    if let networks = networkSettings.networks {
      var renamed: [String: NetworkSettings.Endpoint] = [:]
      for (name, var endpoint) in networks {
        if let network = try? engine.network(name) { endpoint.networkID = network.id }
        renamed[name == Engine.defaultNetwork ? "bridge" : name] = endpoint
      }
      networkSettings.networks = renamed
    } else if hostConfig.networkMode == "none" {
      networkSettings.networks = ["none": NetworkSettings.Endpoint(networkID: "none")]
    }
    for (key, bindings) in networkSettings.ports {
      networkSettings.ports[key] = bindings.map {
        NetworkSettings.Binding(
          hostIp: $0.hostIp.isEmpty ? "0.0.0.0" : $0.hostIp, hostPort: $0.hostPort)
      }
    }
  }
}

/// Docker's NetworkSettings, as podman fills it: the first network's
/// addresses at the top, each network's under Networks, published ports.
struct NetworkSettings: Encodable {
  struct Endpoint: Encodable {
    var endpointID = ""
    var gateway = ""
    var ipAddress = ""
    var ipPrefixLen = 0
    var ipv6Gateway = ""
    var globalIPv6Address = ""
    var globalIPv6PrefixLen = 0
    var macAddress = ""
    var networkID: String?
    var aliases: [String]?
  }
  struct Binding: Encodable {
    var hostIp: String
    var hostPort: String
  }
  var endpointID = ""
  var gateway = ""
  var ipAddress = ""
  var ipPrefixLen = 0
  var ipv6Gateway = ""
  var globalIPv6Address = ""
  var globalIPv6PrefixLen = 0
  var macAddress = ""
  var bridge = ""
  var sandboxID = ""
  var sandboxKey = ""
  var hairpinMode = false
  var linkLocalIPv6Address = ""
  var linkLocalIPv6PrefixLen = 0
  var ports: [String: [Binding]] = [:]
  var networks: [String: Endpoint]?

  init(_ engine: Engine, _ container: Container, _ config: ContainerConfig) throws {
    guard config.network == "bridge" else { return }
    var networks: [String: Endpoint] = [:]
    var first: Endpoint? = nil
    for (network, attachment) in try engine.attachments(of: container.id) {
      var endpoint = Endpoint(macAddress: attachment.mac, networkID: network.name)
      for subnet in network.subnetList {
        let prefix = subnet.prefixLength
        if subnet.isIPv6 {
          endpoint.ipv6Gateway = subnet.gateway
          endpoint.globalIPv6Address = attachment.ipv6 ?? ""
          endpoint.globalIPv6PrefixLen = prefix
        } else {
          endpoint.gateway = subnet.gateway
          endpoint.ipAddress = attachment.ipv4 ?? ""
          endpoint.ipPrefixLen = prefix
        }
      }
      endpoint.aliases = [container.shortID] + attachment.aliasList
      networks[network.name] = endpoint
      if first == nil { first = endpoint }
    }
    if let first, container.state == .running || container.state == .paused {
      gateway = first.gateway
      ipAddress = first.ipAddress
      ipPrefixLen = first.ipPrefixLen
      ipv6Gateway = first.ipv6Gateway
      globalIPv6Address = first.globalIPv6Address
      globalIPv6PrefixLen = first.globalIPv6PrefixLen
      macAddress = first.macAddress
      sandboxKey = engine.networkNamespacePath(container.id)
    }
    // Networks asked for but not joined yet (a created container's):
    // listed without addresses, as docker lists them.
    for request in config.networks ?? [NetworkRequest(name: Engine.defaultNetwork)]
    where networks[request.name] == nil {
      networks[request.name] = Endpoint(
        networkID: (try? engine.network(request.name))?.name ?? request.name,
        aliases: request.aliases.isEmpty ? nil : request.aliases)
    }
    self.networks = networks
    for port in try engine.publishedPorts(of: container.id) {
      ports["\(port.containerPort)/\(port.protocol)", default: []].append(
        Binding(hostIp: port.hostIP, hostPort: "\(port.hostPort)"))
    }
    for request in config.ports ?? [] where request.hostPort == 0 || ports.isEmpty {
      let key = "\(request.containerPort)/\(request.protocol)"
      if ports[key] == nil && container.state != .running {
        ports[key] = [
          Binding(
            hostIp: request.hostIP, hostPort: request.hostPort == 0 ? "" : "\(request.hostPort)")
        ]
      }
    }
  }
}

/// Podman's and Docker's JSON keys are PascalCase: Swift's property names
/// with the first letter raised, and a few initialisms as Go spells them.
public struct PascalCaseKey: CodingKey {
  static let initialisms = [
    "rw": "RW", "utsMode": "UTSMode", "oomKilled": "OOMKilled", "ipAddress": "IPAddress",
    "ipPrefixLen": "IPPrefixLen", "ipv6Gateway": "IPv6Gateway", "idMappings": "IDMappings",
  ]
  public var stringValue: String
  public var intValue: Int? { nil }
  public init(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { nil }

  public static func convert(_ path: [any CodingKey]) -> any CodingKey {
    let key = path.last!.stringValue
    if path.last!.intValue != nil || key.isEmpty || !key.first!.isLowercase {
      return PascalCaseKey(stringValue: key)
    }
    return PascalCaseKey(
      stringValue: initialisms[key] ?? key.prefix(1).uppercased() + key.dropFirst())
  }
}

extension JSONEncoder {
  /// Sorted, indented JSON with PascalCase keys (podman's inspect and ps).
  public static var docker: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .custom(PascalCaseKey.convert)
    return encoder
  }
}
