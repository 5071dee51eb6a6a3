// The engine: one value per `berth` invocation (or API request), holding
// the storage and run roots, the image store and the state database. There
// is no daemon: every operation works on the files and the database, and
// each running container has its own monitor process.
import BerthImage
import BerthOCI
import BerthRuntime
import BerthSystem
import Glibc
import Synchronization

public final class Engine: @unchecked Sendable {
  /// Persistent storage: images, container files, volumes, the database.
  public let root: String
  /// Run state (tmpfs): monitors' files, locks, runtime state.
  public let runRoot: String
  public let rootless: Bool
  public let store: ContentStore
  public let database: StateDatabase
  /// Exit codes of `--rm` containers whose removal this process folded
  /// in (their status files go with them), for `wait`.
  var removedExitCodes: [String: Int32] = [:]
  /// Image configs read by this engine, by image id: `run` reads one at
  /// create and again at start (an image's config never changes).
  let imageConfigs = Mutex<[String: ImageConfig.Config]>([:])

  public init(root: String?, runRoot: String?) throws(BerthError) {
    rootless = geteuid() != 0
    self.root = root ?? ContentStore.defaultRoot(rootless: rootless)
    self.runRoot = runRoot ?? ContentStore.defaultRunRoot(rootless: rootless)
    do {
      store = try ContentStore(root: self.root)
    } catch let error as BerthError {
      throw error
    } catch {
      throw BerthError(.system, "cannot open the image store \(self.root): \(error)")
    }
    let runRoot = self.runRoot
    for dir in [
      self.root + "/containers", self.root + "/volumes", runRoot + "/containers",
      runRoot + "/locks",
    ] {
      try mkdirAll(dir, mode: 0o700)
    }
    Trace.mark("engine: store opened")
    database = try StateDatabase(path: self.root + "/berth.db")
    Trace.mark("engine: database opened")
  }

  var containersRunRoot: String { runRoot + "/containers" }
  /// `--rm` containers' directories on their way out (BerthMonitor's Trash).
  var trashDirectory: String { root + "/trash" }
  var locksRoot: String { runRoot + "/locks" }
  /// BerthRuntime's --root for the engine's containers.
  public var runtimeRoot: String { runRoot + "/runtime" }

  /// The container's directory (bundle, userdata, log): under the storage
  /// root, or under the run root for a container removed when it exits
  /// (`ephemeralContainerDirectory`), whichever exists.
  public func containerDirectory(_ id: String) -> String {
    let ephemeral = ephemeralContainerDirectory(id)
    return access(ephemeral, F_OK) == 0 ? ephemeral : persistentContainerDirectory(id)
  }

  func persistentContainerDirectory(_ id: String) -> String { root + "/containers/" + id }

  /// Where a `--rm` container keeps its directory. Nothing of it outlives
  /// its run, and files made and deleted on the store's filesystem cost
  /// there: ext4 passes over every inode freed in the last minutes when it
  /// allocates one, and 16 runs at once spent a fifth of their CPU time so.
  func ephemeralContainerDirectory(_ id: String) -> String { runRoot + "/bundles/" + id }
  /// The container's run directory (monitor files, attach socket).
  public func runDirectory(_ id: String) -> String { Self.runDirectory(id, runRoot: runRoot) }

  /// The same for an engine not open yet (a monitor started ahead).
  static func runDirectory(_ id: String, runRoot: String) -> String {
    runRoot + "/containers/" + id
  }

  public func lock(container id: String) throws(BerthError) -> ObjectLock {
    try ObjectLock(locksRoot + "/" + id, what: "container \(id.prefix(12))")
  }

  /// A volume's lock (a name cannot collide with a container's 64-hex id file).
  public func lock(volume name: String) throws(BerthError) -> ObjectLock {
    try ObjectLock(locksRoot + "/volume-" + name, what: "volume \(name)")
  }
}
