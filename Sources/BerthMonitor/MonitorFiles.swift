// What the engine and a container's monitor share: the monitor's orders
// (monitor.json, written by the engine before it starts the monitor) and
// the monitor's account of the container (status.json, rewritten
// atomically at each change, read by every `berth` command). Files rather
// than the database keep SQLite out of the monitor, which lives as long as
// its container; the engine folds the status into the database.
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials

/// slirp4netns's binary, its API socket and the host ports it forwards.
public struct SlirpConfig: Codable, Sendable {
  public struct Forward: Codable, Sendable {
    public var proto: String
    public var hostAddress: String
    public var hostPort: Int
    public var guestPort: Int

    public init(proto: String, hostAddress: String, hostPort: Int, guestPort: Int) {
      self.proto = proto
      self.hostAddress = hostAddress
      self.hostPort = hostPort
      self.guestPort = guestPort
    }
  }
  public var path: String
  public var apiSocket: String
  public var forwards: [Forward] = []

  public init(path: String, apiSocket: String) {
    self.path = path
    self.apiSocket = apiSocket
  }
}

/// The monitor's orders for one container.
public struct MonitorConfig: Codable, Sendable {
  public var id: String
  /// The OCI bundle: config.json, whose root.path is the mounted rootfs.
  public var bundle: String
  /// BerthRuntime's state root (in process), or the external runtime's --root.
  public var runtimeRoot: String
  /// An external OCI runtime binary (runc, crun, berth-runtime), or nil for
  /// BerthRuntime in this process.
  public var runtimePath: String?
  public var logDriver: String = "k8s-file"
  public var logPath: String
  public var logMaxSize: Int64 = 0
  public var terminal = false
  public var stdin = false
  public var autoRemove = false
  public var restartPolicy: String = "no"
  public var restartMaxRetries = 0
  public var health: HealthConfig?
  /// `--timeout`: the container is killed after this many seconds.
  public var timeoutSeconds: Int?
  /// Unmounted when the container is done (the overlay rootfs).
  public var rootfsMount: String?
  /// Also unmounted at the end (a shareable container's /dev/shm).
  public var extraMounts: [String] = []
  /// Removed with `--rm`, after the unmount: first renamed into
  /// `trashDirectory` (on the same file system), so the exit is told at
  /// once, then deleted; what a monitor killed in between leaves there is
  /// swept by `container prune` (Trash).
  public var removePaths: [String] = []
  public var trashDirectory: String?
  /// With `--rm`: the snapshot directory (one of `removePaths`) is renamed
  /// into `directory` instead, for the next `--rm` container, when its
  /// overlay unmounted cleanly and its upper directory is empty
  /// (ContentStore.spareSnapshotsDirectory).
  public var spareSnapshot: SpareSnapshot?
  /// A monitor started ahead whose rootfs the engine mounts after telling
  /// it its container: before its first clone it waits for the engine's
  /// word on the start channel (PrestartChannel.rootfsMounted).
  public var awaitRootfs = false
  /// `--network none`: the container's new network namespace gets its
  /// loopback up, as podman's does (CreateOptions.loopbackUp).
  public var loopbackUp = false
  /// The host's cgroup mounts, as the engine read them when it made the
  /// container's cgroups ahead: the first launch uses them instead of
  /// reading /proc/self/mountinfo again (a restart reads it afresh).
  public var cgroupLayout: CgroupLayout?
  /// Rootless: the monitor makes a user namespace with these maps (its
  /// user as 0, the subordinate ids above) and runs the container in it.
  public var uidMappings: [IDMapping]?
  public var gidMappings: [IDMapping]?
  /// Rootless: the overlay the monitor mounts in its own mount namespace
  /// (kernel overlay with userxattr), since only there may it mount.
  public var overlayOptions: String?
  /// Rootless, a container in its own user namespace: the overlay's upper
  /// directory is given to the container's root (ids of the monitor's
  /// namespace) before the mount, which only root of that namespace may do.
  public var upperOwner: DirectoryOwner?
  /// The container's network namespace file (a bind mount the engine
  /// made): unmounted and removed when the container is done for good, which
  /// frees its veth ends.
  public var networkNamespace: String?
  /// The host ends of its veths, deleted first: a namespace's devices go
  /// in a kernel work queue some time after its last reference, and a
  /// restart with the same MAC must not meet the old port on the bridge.
  public var hostInterfaces: [String] = []
  /// Started (not waited for) when the container is done for good, for what
  /// only the engine can undo: published ports, DNS names (podman's conmon
  /// runs `podman container cleanup` the same way).
  public var exitCommand: [String]?
  /// Rootless `--network pasta`: pasta's argv (its path first) without the
  /// target pid. The monitor makes a network namespace with its user
  /// namespace; the starter, outside both, runs pasta on it (pasta must
  /// join the user namespace from its parent one), and the container
  /// shares it.
  public var pasta: [String]?
  /// Rootless `--network slirp4netns`, the fallback: run by the starter on
  /// the monitor's network namespace the same way, ended by an exit pipe
  /// the monitor holds.
  public var slirp4netns: SlirpConfig?
  /// Rootless bridge networks: the monitor joins the user's network host
  /// instead of making a user namespace, and wires the network namespace
  /// it makes for the container to the bridges there.
  public var rootlessBridge: RootlessBridge?
  /// Rootless: new named volumes to fill from the image once the overlay is
  /// mounted (the CLI cannot read the subordinate ids' files), then trees
  /// to give to the container's user (`:U`), both inside the namespace.
  public var volumeFills: [VolumeFill] = []
  public var chownTrees: [DirectoryOwner] = []

  public init(id: String, bundle: String, runtimeRoot: String, logPath: String) {
    self.id = id
    self.bundle = bundle
    self.runtimeRoot = runtimeRoot
    self.logPath = logPath
  }

  public static func load(runDirectory: String) throws(BerthError) -> MonitorConfig {
    let bytes = try readFile(runDirectory + "/" + RunFiles.config, limit: 4 << 20)
    do {
      return try JSONDecoder().decode(MonitorConfig.self, from: Data(bytes))
    } catch {
      throw BerthError(.invalidArgument, "cannot read \(runDirectory)/monitor.json: \(error)")
    }
  }
}

/// A health check as the image config and `--health-*` flags give it.
public struct HealthConfig: Codable, Sendable, Equatable {
  /// ["CMD", args...] or ["CMD-SHELL", "command"]; ["NONE"] disables.
  public var test: [String]
  public var intervalSeconds: Double = 30
  public var timeoutSeconds: Double = 30
  public var startPeriodSeconds: Double = 0
  public var retries = 3

  public init(test: [String]) { self.test = test }

  /// The argv the check runs in the container.
  public var command: [String]? {
    guard let kind = test.first else { return nil }
    switch kind {
    case "CMD": return Array(test.dropFirst())
    case "CMD-SHELL": return ["/bin/sh", "-c", test.dropFirst().joined(separator: " ")]
    case "NONE": return nil
    default: return test
    }
  }
}

/// One health check's outcome, as podman's inspect shows it.
public struct HealthLogEntry: Codable, Sendable {
  public var start: String
  public var end: String
  public var exitCode: Int32
  public var output: String
}

/// What the monitor knows: rewritten atomically at each change.
public struct MonitorStatus: Codable, Sendable {
  public enum State: String, Codable, Sendable { case starting, running, exited }

  public var state: State
  public var monitorPid: Int32
  public var monitorStartTime: UInt64
  public var pid: Int32 = 0
  public var startedAt: String?
  public var finishedAt: String?
  public var exitCode: Int32?
  public var restartCount = 0
  /// "starting", "healthy" or "unhealthy" when a health check is set.
  public var health: String?
  public var failingStreak = 0
  public var healthLog: [HealthLogEntry] = []
  /// Set with --rm once the rootfs and the container's files are gone.
  public var removed = false
  /// Why the container could not start, when it could not.
  public var error: String?

  public init(state: State, monitorPid: Int32, monitorStartTime: UInt64) {
    self.state = state
    self.monitorPid = monitorPid
    self.monitorStartTime = monitorStartTime
  }

  /// The monitor that wrote this status is still the same live process.
  public var monitorAlive: Bool {
    guard monitorPid > 0, let stat = processStat(monitorPid) else { return false }
    return stat.startTime == monitorStartTime && stat.state != "Z"
  }

  public static func load(_ path: String) -> MonitorStatus? {
    guard let bytes = try? readFile(path, limit: 1 << 20) else { return nil }
    return try? JSONDecoder().decode(MonitorStatus.self, from: Data(bytes))
  }

  public func save(_ path: String) throws(BerthError) {
    let data: Data
    do {
      data = try JSONEncoder().encode(self)
    } catch {
      throw BerthError(.internalError, "cannot encode the monitor status: \(error)")
    }
    try writeFileAtomically(path, Array(data), mode: 0o644, durable: false)
  }
}

/// File names in a container's run directory.
public enum RunFiles {
  public static let config = "monitor.json"
  public static let status = "status.json"
  public static let attach = "attach.sock"
  /// Present when a user stopped the container: no restart follows.
  public static let stopRequested = "stop-requested"
  public static let monitorLog = "monitor.log"
  /// Rootless pasta's pid (pasta writes it).
  public static let pasta = "pasta.pid"
}

/// Exit codes as podman's: 125 the engine failed, 126 the command could not
/// be invoked, 127 it was not found.
public enum EngineExit {
  public static let engineError: Int32 = 125
  public static let cannotInvoke: Int32 = 126
  public static let notFound: Int32 = 127

  /// The code for a container that failed to start with `message`.
  public static func code(forStartError message: String) -> Int32 {
    if message.contains("executable file not found")
      || message.contains("no such file or directory")
    {
      return notFound
    }
    if message.contains("permission denied") || message.contains("is a directory") {
      return cannotInvoke
    }
    return engineError
  }
}

/// A directory and the owner it is to be given.
public struct DirectoryOwner: Codable, Sendable {
  public var path: String
  public var uid: UInt32
  public var gid: UInt32

  public init(path: String, uid: UInt32, gid: UInt32) {
    self.path = path
    self.uid = uid
    self.gid = gid
  }
}

/// A new volume filled from the image's `path`; `marker` is written after,
/// so a volume is filled once.
public struct VolumeFill: Codable, Sendable {
  public var path: String
  public var target: String
  public var marker: String

  public init(path: String, target: String, marker: String) {
    self.path = path
    self.target = target
    self.marker = marker
  }

  /// Fills the volume from the rootfs mounted at `rootfs`, unless done.
  public func perform(rootfs: String) throws(BerthError) {
    guard !fileExists(marker) else { return }
    try RootFS.fillEmpty(target, from: rootfs, path: path)
    try writeFileAtomically(marker, [], mode: 0o600, durable: false)
  }
}

/// A rootless container's bridge networks. The bridges live in the user's
/// network host (`berth-monitor nethost`), a process holding one user
/// namespace and one network namespace for all the user's bridge-network
/// containers, as podman's pause process and rootless netns do: a veth
/// needs CAP_NET_ADMIN over both its namespaces, so the container's network
/// namespace must belong to the same user namespace as the bridges.
public struct RootlessBridge: Codable, Sendable {
  /// The network host's pid and run root (its command line is checked, so a
  /// reused pid is never joined).
  public var hostPid: Int32
  public var runRoot: String
  public var links: [Link]
  public var interfaces: [InterfaceSettings]
  public var defaultRoutes: [[UInt8]]

  /// One veth: `hostName` on `bridge` in the network host, `name` inside.
  public struct Link: Codable, Sendable {
    public var hostName: String
    public var bridge: String
    public var name: String
    public var mtu: UInt32?
    public var mac: [UInt8]?
    public init(hostName: String, bridge: String, name: String, mtu: UInt32?, mac: [UInt8]?) {
      self.hostName = hostName
      self.bridge = bridge
      self.name = name
      self.mtu = mtu
      self.mac = mac
    }
  }

  public init(
    hostPid: Int32, runRoot: String, links: [Link], interfaces: [InterfaceSettings],
    defaultRoutes: [[UInt8]]
  ) {
    self.hostPid = hostPid
    self.runRoot = runRoot
    self.links = links
    self.interfaces = interfaces
    self.defaultRoutes = defaultRoutes
  }
}
