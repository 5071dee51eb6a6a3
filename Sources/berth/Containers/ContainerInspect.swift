// `inspect`: containers (and images, volumes) as JSON in podman's shape,
// or through a Go template such as {{.State.Status}} or {{json .Config}}.
import ArgumentParser
import BerthEngine
import BerthMonitor
import BerthSystem
import Foundation

struct ContainerInspect: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show details of containers.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Go template, e.g. {{.State.Status}}; JSON by default.") var format: String?
  @Flag(name: .shortAndLong, help: "Inspect the latest container.") var latest = false
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    var names = containers
    if latest, let first = try engine.containers().first { names = [first.id] }
    let values = try names.map { try InspectedContainer.make(engine, $0) }
    try printInspected(values, format: format)
  }
}

/// `berth inspect`: containers first, then images, unless --type says.
struct GenericInspect: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show details of containers, images or volumes.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Go template; JSON by default.") var format: String?
  @Option(name: .shortAndLong, help: "container, image, volume or all.") var type = "all"
  @Argument(help: "Names or ids.") var names: [String]

  func run() throws {
    guard ["all", "container", "image", "volume"].contains(type) else {
      throw BerthError(.invalidArgument, "invalid --type \"\(type)\"", hint: "use container, image, volume or all")
    }
    let engine = try global.engine()
    var values: [any Encodable] = []
    for name in names {
      if type == "all" || type == "container", let container = try? InspectedContainer.make(engine, name) {
        values.append(container)
      } else if type == "all" || type == "image", let image = try? inspectImage(engine.store, name) {
        values.append(image)
      } else if type == "all" || type == "volume", let volume = try? engine.volume(name) {
        values.append(InspectedVolume(volume))
      } else {
        throw BerthError(.notFound, "no such object: \"\(name)\"")
      }
    }
    try printInspected(values, format: format)
  }
}

func printInspected(_ values: [any Encodable], format: String?) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  if let format, format != "json" {
    let rows = try values.map { value in
      flatten(try JSONSerialization.jsonObject(with: try encoder.encode(AnyEncodable(value))))
    }
    try printTemplate(format, rows)
    return
  }
  let array = try values.map { try JSONSerialization.jsonObject(with: try encoder.encode(AnyEncodable($0))) }
  let data = try JSONSerialization.data(withJSONObject: array, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
  print(String(decoding: data, as: UTF8.self))
}

struct AnyEncodable: Encodable {
  let value: any Encodable
  init(_ value: any Encodable) { self.value = value }
  func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// JSON → template fields: "A.B" for nested keys, Go's print forms for
/// values, and "json:A.B" for {{json .A.B}}.
func flatten(_ object: Any) -> [String: String] {
  var fields: [String: String] = [:]
  func goString(_ value: Any) -> String {
    switch value {
    case let string as String: return string
    case let number as NSNumber:
      if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
      return number.stringValue
    case let array as [Any]: return "[" + array.map(goString).joined(separator: " ") + "]"
    case let dict as [String: Any]:
      return "map[" + dict.keys.sorted().map { "\($0):\(goString(dict[$0]!))" }.joined(separator: " ") + "]"
    case is NSNull: return "<nil>"
    default: return "\(value)"
    }
  }
  func jsonString(_ value: Any) -> String {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) {
      return String(decoding: data, as: UTF8.self)
    }
    return "null"
  }
  func walk(_ value: Any, _ path: String) {
    if !path.isEmpty {
      fields[path] = goString(value)
      fields["json:" + path] = jsonString(value)
    }
    if let dict = value as? [String: Any] {
      for (key, child) in dict { walk(child, path.isEmpty ? key : path + "." + key) }
    }
  }
  walk(object, "")
  fields["json:"] = jsonString(object)
  return fields
}

struct InspectedVolume: Encodable {
  var Name: String
  var Driver: String
  var Mountpoint: String
  var CreatedAt: String
  var Labels: [String: String]
  var Options: [String: String]
  var Scope = "local"
  var Anonymous: Bool

  init(_ volume: Volume) {
    Name = volume.name
    Driver = volume.driver
    Mountpoint = volume.mountpoint
    CreatedAt = volume.created
    Labels = volume.labelMap
    Options = volume.optionMap
    Anonymous = volume.anonymous
  }
}

/// podman's container inspect fields that tools read.
struct InspectedContainer: Encodable {
  struct StateInfo: Encodable {
    var OciVersion = "1.2.0"
    var Status: String
    var Running: Bool
    var Paused: Bool
    var Restarting = false
    var OOMKilled = false
    var Dead = false
    var Pid: Int32
    var ExitCode: Int32
    var Error: String
    var StartedAt: String
    var FinishedAt: String
    var Health: Health?
  }
  struct Health: Encodable {
    var Status: String
    var FailingStreak: Int
    var Log: [LogEntry]
  }
  struct LogEntry: Encodable {
    var Start: String
    var End: String
    var ExitCode: Int32
    var Output: String
  }
  struct MountInfo: Encodable {
    var `Type`: String
    var Name: String?
    var Source: String
    var Destination: String
    var Driver: String
    var Mode: String
    var Options: [String]
    var RW: Bool
    var Propagation: String
  }
  struct ConfigInfo: Encodable {
    var Hostname: String
    var User: String
    var Env: [String]
    var Cmd: [String]?
    var Image: String
    var WorkingDir: String
    var Entrypoint: [String]?
    var Labels: [String: String]
    var Annotations: [String: String]
    var StopSignal: String
    var StopTimeout: Int
    var Tty: Bool
    var OpenStdin: Bool
    var Healthcheck: HealthcheckConfig?
  }
  struct HealthcheckConfig: Encodable {
    var Test: [String]
    var Interval: Int64
    var Timeout: Int64
    var StartPeriod: Int64
    var Retries: Int
  }
  struct HostConfigInfo: Encodable {
    struct Restart: Encodable {
      var Name: String
      var MaximumRetryCount: Int
    }
    struct LogConfig: Encodable {
      var `Type`: String
      var Size: String
    }
    var Binds: [String]
    var NetworkMode: String
    var RestartPolicy: Restart
    var AutoRemove: Bool
    var CapAdd: [String]
    var CapDrop: [String]
    var Privileged: Bool
    var ReadonlyRootfs: Bool
    var Memory: Int64
    var MemorySwap: Int64
    var NanoCpus: Int64
    var CpuShares: UInt64
    var CpusetCpus: String
    var PidsLimit: Int64
    var ShmSize: Int64
    var SecurityOpt: [String]
    var Sysctls: [String: String]
    var Ulimits: [String]
    var PidMode: String
    var IpcMode: String
    var UTSMode: String
    var CgroupParent: String
    var LogConfig: LogConfig
    var Devices: [String]
    var Tmpfs: [String: String]
  }

  var Id: String
  var Created: String
  var Path: String
  var Args: [String]
  var State: StateInfo
  var Image: String
  var ImageName: String
  var Rootfs = ""
  var ResolvConfPath: String
  var HostnamePath: String
  var HostsPath: String
  var LogPath: String
  var Name: String
  var RestartCount: Int
  var Driver = "overlay"
  var Mounts: [MountInfo]
  var Config: ConfigInfo
  var HostConfig: HostConfigInfo
  var IsInfra = false

  static func make(_ engine: Engine, _ reference: String) throws -> InspectedContainer {
    let container = try engine.refresh(try engine.lookup(reference).id)
    let config = try container.decodedConfig()
    let command = (try? engine.containerCommand(container)) ?? []
    let status = engine.monitorStatus(container.id)
    let userdata = engine.containerDirectory(container.id) + "/userdata"
    let mounts = config.mounts.map { mount -> MountInfo in
      let source: String
      switch mount.kind {
      case .volume: source = ((try? engine.volume(mount.source))?.mountpoint) ?? ""
      default: source = mount.source
      }
      return MountInfo(
        Type: mount.kind.rawValue, Name: mount.kind == .volume ? mount.source : nil, Source: source,
        Destination: mount.destination, Driver: mount.kind == .volume ? "local" : "", Mode: "",
        Options: mount.options, RW: !mount.readOnly, Propagation: mount.kind == .bind ? "rprivate" : "")
    }
    let health = (config.health).map { health in
      Health(
        Status: container.health ?? "starting", FailingStreak: status?.failingStreak ?? 0,
        Log: (status?.healthLog ?? []).map { LogEntry(Start: $0.start, End: $0.end, ExitCode: $0.exitCode, Output: $0.output) })
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
      Id: container.id, Created: container.created, Path: command.first ?? "", Args: Array(command.dropFirst()),
      State: StateInfo(
        Status: container.state.rawValue, Running: container.state == .running || container.state == .paused,
        Paused: container.state == .paused, Pid: container.state == .running ? container.pid : 0,
        ExitCode: container.exitCode ?? 0, Error: container.reason ?? "",
        StartedAt: container.startedAt ?? zero, FinishedAt: container.finishedAt ?? zero, Health: health),
      Image: String(container.imageID.split(separator: ":").last ?? ""), ImageName: container.imageName,
      ResolvConfPath: userdata + "/resolv.conf", HostnamePath: userdata + "/hostname",
      HostsPath: userdata + "/hosts", LogPath: userdata + "/ctr.log", Name: container.name,
      RestartCount: container.restartCount, Mounts: mounts,
      Config: ConfigInfo(
        Hostname: config.hostname ?? container.shortID, User: config.user ?? "", Env: config.env,
        Cmd: config.command, Image: container.imageName, WorkingDir: config.workingDir ?? "/",
        Entrypoint: config.entrypoint, Labels: config.labels, Annotations: config.annotations,
        StopSignal: config.stopSignal ?? "SIGTERM", StopTimeout: config.stopTimeout ?? 10, Tty: config.tty,
        OpenStdin: config.interactive,
        Healthcheck: config.health.map {
          HealthcheckConfig(
            Test: $0.test, Interval: Int64($0.intervalSeconds * 1e9), Timeout: Int64($0.timeoutSeconds * 1e9),
            StartPeriod: Int64($0.startPeriodSeconds * 1e9), Retries: $0.retries)
        }),
      HostConfig: HostConfigInfo(
        Binds: binds,
        NetworkMode: config.network,
        RestartPolicy: .init(Name: config.restart.name, MaximumRetryCount: config.restart.maxRetries),
        AutoRemove: config.autoRemove, CapAdd: config.capAdd, CapDrop: config.capDrop,
        Privileged: config.privileged, ReadonlyRootfs: config.readOnly, Memory: config.memory ?? 0,
        MemorySwap: config.memorySwap ?? 0, NanoCpus: Int64((config.cpus ?? 0) * 1e9),
        CpuShares: config.cpuShares ?? 0, CpusetCpus: config.cpusetCpus ?? "", PidsLimit: config.pidsLimit ?? 0,
        ShmSize: config.shmSize ?? 65_536_000,
        SecurityOpt: (config.noNewPrivileges ? ["no-new-privileges"] : []) + (config.seccompProfile.map { ["seccomp=\($0)"] } ?? []),
        Sysctls: config.sysctls, Ulimits: config.ulimits, PidMode: config.pidMode ?? "private",
        IpcMode: config.ipcMode ?? "private", UTSMode: config.utsMode ?? "private",
        CgroupParent: config.cgroupParent ?? "/berth",
        LogConfig: .init(Type: config.logDriver, Size: config.logMaxSize > 0 ? "\(config.logMaxSize)" : "0B"),
        Devices: config.devices,
        Tmpfs: tmpfs))
  }
}
