// What a user asked for when creating a container: the `run`/`create`
// flags (and the Docker API's create body later), kept as given so that
// `inspect` shows them and `start` can build the OCI spec again.
import BerthMonitor
import BerthOCI
import BerthSystem

public struct MountRequest: Codable, Sendable, Equatable {
  public enum Kind: String, Codable, Sendable { case bind, volume, tmpfs }
  public var kind: Kind
  /// Host path (bind) or volume name (volume; empty for an anonymous one).
  public var source: String
  public var destination: String
  public var readOnly = false
  /// Volume: don't copy the image's content into a new volume.
  public var noCopy = false
  /// Chown the source to the container's user (`:U`).
  public var chown = false
  public var options: [String] = []

  public init(kind: Kind, source: String, destination: String) {
    self.kind = kind
    self.source = source
    self.destination = destination
  }
}

public struct RestartPolicy: Codable, Sendable, Equatable {
  public var name = "no"
  public var maxRetries = 0

  public init() {}

  /// `no`, `on-failure[:N]`, `always`, `unless-stopped`.
  public init(parsing text: String) throws(BerthError) {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    guard let first = parts.first, ["no", "on-failure", "always", "unless-stopped"].contains(first)
    else {
      throw BerthError(
        .invalidArgument, "invalid restart policy \"\(text)\"",
        hint: "use no, on-failure[:N], always or unless-stopped")
    }
    name = first
    if parts.count == 2 {
      guard first == "on-failure", let count = Int(parts[1]), count >= 0 else {
        throw BerthError(
          .invalidArgument, "invalid restart policy \"\(text)\"",
          hint: "only on-failure takes a retry count, e.g. on-failure:3")
      }
      maxRetries = count
    }
  }
}

public struct ContainerConfig: Codable, Sendable {
  public var command: [String]?
  public var entrypoint: [String]?
  public var env: [String] = []
  public var workingDir: String?
  public var user: String?
  public var groupAdd: [String] = []
  public var hostname: String?
  public var tty = false
  public var interactive = false
  public var autoRemove = false
  public var labels: [String: String] = [:]
  public var annotations: [String: String] = [:]
  public var mounts: [MountRequest] = []
  public var readOnly = false
  public var readOnlyTmpfs = true
  // Resources; nil leaves the kernel's default.
  public var memory: Int64?
  public var memorySwap: Int64?
  public var cpus: Double?
  public var cpuShares: UInt64?
  public var cpusetCpus: String?
  public var pidsLimit: Int64?
  public var shmSize: Int64?
  public var devices: [String] = []
  public var capAdd: [String] = []
  public var capDrop: [String] = []
  public var privileged = false
  public var noNewPrivileges = false
  /// nil: the default profile; "unconfined"; or a profile file's path.
  public var seccompProfile: String?
  public var mask: [String] = []
  public var unmask: [String] = []
  public var sysctls: [String: String] = [:]
  public var ulimits: [String] = []
  public var restart = RestartPolicy()
  public var stopSignal: String?
  public var stopTimeout: Int?
  public var health: HealthConfig?
  /// `--no-healthcheck`: the image's HEALTHCHECK is not run.
  public var noHealthcheck = false
  /// `--timeout`: seconds the container may run before it is killed.
  public var timeout: Int?
  /// none, host, bridge (the `networks` below), container:NAME, ns:PATH.
  public var network = "none"
  /// Bridge networks to join, in order (eth0, eth1, ...).
  public var networks: [NetworkRequest]?
  public var ports: [PortRequest]?
  /// `-P`: the image's exposed ports, each on a free host port.
  public var publishAll: Bool?
  /// Ports exposed beyond the image's ("9000/tcp": docker's `--expose`).
  public var exposedPorts: [String]?
  public var dnsServers: [String]?
  public var dnsSearch: [String]?
  public var dnsOptions: [String]?
  /// `--add-host NAME:IP`.
  public var addHosts: [String]?
  public var pidMode: String?
  public var ipcMode: String?
  public var utsMode: String?
  public var cgroupParent: String?
  public var cgroupns: String?
  public var logDriver = "k8s-file"
  public var logMaxSize: Int64 = 0
  /// nil: BerthRuntime in process; else runc, crun, berth-runtime or a path.
  public var runtime: String?
  public var initProcess = false
  /// `--userns` as given (nil: the host's), and `--uidmap`/`--gidmap`.
  public var userns: String?
  public var uidMap: [IDMapping]?
  public var gidMap: [IDMapping]?
  /// What they resolved to at create: the container's own user namespace
  /// (outside ids are the store's), nil when it has none.
  public var idMaps: IDMaps?

  public init() {}

  /// Bridge networks and pasta leave state the engine undoes at the end
  /// (namespaces, leases, published ports, names).
  var hasNetworkState: Bool { network == "bridge" || sharesMonitorNetwork }
  /// pasta and slirp4netns wire the monitor's own network namespace, which
  /// the container shares (a restart too) instead of making its own.
  var sharesMonitorNetwork: Bool { network == "pasta" || network == "slirp4netns" }
}

/// One `--network NAME[:alias=A,ip=IP,mac=MAC]` (plus `--ip`, `--mac-address`
/// and `--network-alias`, which apply to the first).
public struct NetworkRequest: Codable, Sendable, Equatable {
  public var name: String
  public var aliases: [String] = []
  public var ipv4: String?
  public var ipv6: String?
  public var mac: String?

  public init(name: String) { self.name = name }
}
