// Creating, starting, stopping and removing containers. Each operation
// takes the container's lock; the database row is the record, the
// monitor's status file the live truth that every command folds in.
import BerthImage
import BerthMonitor
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc

public struct StartOutcome: Sendable {
  public var container: Container
  /// The attach connection (a foreground run or `start -a`), if asked for.
  public var attach: Int32?
}

extension Engine {
  var runtime: Runtime { Runtime(root: runtimeRoot, rootless: rootless, systemdCgroup: false) }

  // MARK: Create

  /// Records a new container from `image`, with its rootfs snapshot and
  /// volumes ready; nothing runs yet. On failure nothing is left.
  public func createContainer(
    name requested: String?, image: ImageRecord, imageName: String, config: ContainerConfig
  ) throws(BerthError) -> Container {
    Trace.mark("create: begin")
    if let requested { try ContainerNames.validate(requested) }
    var config = config
    try validate(config)
    let imageConfig = try imageConfiguration(image)
    let id = PrestartedMonitor.claimID() ?? ContainerNames.randomID()
    // A requested name already taken fails before anything is made; a
    // generated one (20 x 20 x 90 of them) is drawn again while taken, in
    // the transaction that records the container.
    let name = requested ?? ContainerNames.randomName()
    if requested != nil, try lookupOptional(name)?.name == name { throw nameInUse(name) }
    // Image VOLUMEs become anonymous volumes, as docker makes them.
    for path in (imageConfig.volumes ?? [:]).keys.sorted()
    where !config.mounts.contains(where: { $0.destination == path }) {
      config.mounts.append(MountRequest(kind: .volume, source: "", destination: path))
    }
    // Held until the record is in: two auto containers never get one range.
    let autoLock = config.userns?.hasPrefix("auto") == true ? try autoRangeLock() : nil
    defer { withExtendedLifetime(autoLock) {} }
    config.idMaps = try resolveIDMaps(config)
    let mapped = config.idMaps.flatMap { $0.isIdentity ? nil : $0 }
    if let mapped { try checkMappedRootCanReachStore(mapped) }
    if rootless, config.userns?.hasPrefix("keep-id") == true, config.user == nil,
      let maps = config.idMaps
    {
      // Podman's keep-id runs as you (or uid=/gid=): the ids mapped to the namespace's 0.
      let uid = maps.uid.first { $0.hostID == 0 }?.containerID ?? getuid()
      let gid = maps.gid.first { $0.hostID == 0 }?.containerID ?? getgid()
      config.user = "\(uid):\(gid)"
    }
    var createdVolumes: [String] = []
    do {
      for index in config.mounts.indices where config.mounts[index].kind == .volume {
        if config.mounts[index].source.isEmpty {
          let volume = try createVolume(
            name: ContainerNames.randomID(), driver: "local", labels: [:], options: [:],
            anonymous: true)
          config.mounts[index].source = volume.name
          createdVolumes.append(volume.name)
        } else if try volumeOptional(config.mounts[index].source) == nil {
          _ = try createVolume(
            name: config.mounts[index].source, driver: "local", labels: [:], options: [:])
          createdVolumes.append(config.mounts[index].source)
        }
      }
      Trace.mark("create: volumes done")
      let snapshot: Snapshot
      do {
        snapshot = try store.createSnapshot(
          id: id, image: image, maps: config.idMaps, spare: config.autoRemove && !rootless)
      } catch {
        throw BerthError.wrapping(error, "cannot create the rootfs of container \(name)")
      }
      Trace.mark("create: snapshot made")
      // A container in a user namespace of its own reaches its files as a
      // subordinate id, which the run root's owner-only directories keep out.
      let directory =
        config.autoRemove && mapped == nil
        ? ephemeralContainerDirectory(id) : persistentContainerDirectory(id)
      try mkdirAll(directory + "/userdata", mode: 0o700)
      if mapped != nil { try openStoreToMappedRoot(id, snapshot: snapshot) }
      var container = Container(
        id: id, name: name, imageID: image.id.description, imageName: imageName,
        created: rfc3339Now(), state: .created, config: try Container.encode(config))
      container = try database.write { db in
        // Another process may have taken the name since: a generated one is
        // drawn again, a requested one is an error.
        var container = container
        while try Container.nameTaken(db, container.name) {
          guard requested == nil else { throw nameInUse(container.name) }
          container.name = ContainerNames.randomName()
        }
        try container.insertRow(db)
        try EventLog.record(
          db, type: "container", action: "create", id: id, name: container.name,
          attributes: ["image": imageName])
        return container
      }
      Trace.mark("create: recorded")
      return container
    } catch {
      try? store.removeSnapshot(id: id)
      try? removeTree(containerDirectory(id))
      for volume in createdVolumes { try? removeVolume(volume, force: true) }
      throw BerthError.wrapping(error, "cannot create container")
    }
  }

  func nameInUse(_ name: String) -> BerthError {
    BerthError(
      .alreadyExists, "the container name \"\(name)\" is already in use",
      hint: "remove that container or choose another name")
  }

  func validate(_ config: ContainerConfig) throws(BerthError) {
    // What a start would refuse is refused now, with nothing created, as
    // docker and podman do: an unknown capability or network.
    if !config.capAdd.isEmpty || !config.capDrop.isEmpty {
      _ = try SpecBuilder.capabilities(config)
    }
    for request in config.networks ?? [] where request.name != Self.defaultNetwork {
      do {
        _ = try network(request.name)
      } catch  where error.code == .notFound {
        // A 400 through the API: docker's CLI reads a 404 from create as a
        // missing image and goes to pull it.
        throw BerthError(.invalidArgument, error.message, hint: error.hint)
      }
    }
    for mount in config.mounts {
      guard mount.destination.hasPrefix("/") else {
        throw BerthError(
          .invalidArgument, "mount destination \"\(mount.destination)\" is not absolute")
      }
      switch mount.kind {
      case .bind:
        guard mount.source.hasPrefix("/") else {
          throw BerthError(
            .invalidArgument, "bind source \"\(mount.source)\" is not an absolute path")
        }
        // Not a 404: docker's CLI takes any 404 from create for a missing
        // image and goes to pull it.
        guard fileExists(mount.source) else {
          throw BerthError(
            .invalidArgument, "bind source \"\(mount.source)\" does not exist",
            hint: "create it first; berth does not create missing bind sources")
        }
      case .volume where !mount.source.isEmpty:
        try VolumeNames.validate(mount.source)
      default: break
      }
    }
  }

  public func imageConfiguration(_ image: ImageRecord) throws(BerthError) -> ImageConfig.Config {
    let id = image.id.description
    if let known = imageConfigs.withLock({ $0[id] }) { return known }
    do {
      let config = try store.config(of: image).config ?? ImageConfig.Config()
      imageConfigs.withLock { $0[id] = config }
      return config
    } catch {
      throw BerthError.wrapping(error, "cannot read the config of image \(image.id)")
    }
  }

  /// The config of the image with id `id` (a container's), read once.
  func imageConfiguration(id: String) throws(BerthError) -> ImageConfig.Config {
    if let known = imageConfigs.withLock({ $0[id] }) { return known }
    let image: ImageRecord
    do {
      image = try store.resolveImage(id)
    } catch {
      throw BerthError.wrapping(error, "cannot find image \(id)")
    }
    return try imageConfiguration(image)
  }

  // MARK: Start

  /// Tells the engine a start follows soon (`run`), so that it begins now
  /// what a start waits for: the monitor's exec and start-up
  /// (PendingMonitor) and, for a container with a user namespace, the
  /// kernel's cgroup lock (CgroupWarmUp). `runRoot` is the engine's (nil:
  /// the default), which need not be open yet. `networkNone`: the container
  /// has `--network none`, so its network namespace is a plain new one that
  /// the monitor can make meanwhile.
  public static func startFollows(
    runRoot: String?, networkNone: Bool = false, userNamespace: Bool = false
  ) {
    if userNamespace { CgroupWarmUp.start() }
    let rootless = geteuid() != 0
    PrestartedMonitor.spawnAhead(
      runRoot: runRoot ?? ContentStore.defaultRunRoot(rootless: rootless), rootless: rootless,
      networkAhead: networkNone)
  }

  /// The monitor's report for container `id`: from its prestarted monitor
  /// when there is one for `binary`, else a new one's.
  func startMonitor(id: String, binary: String, runDirectory: String, attachFD: Int32?)
    throws(BerthError) -> String
  {
    if let pending = PrestartedMonitor.take(id: id) {
      if pending.binary != binary {
        MonitorLauncher.cancel(pending)
      } else if let report = MonitorLauncher.start(pending, attachFD: attachFD) {
        return report
      }
    }
    return try MonitorLauncher.start(binary: binary, runDirectory: runDirectory, attachFD: attachFD)
  }

  /// Starts a created or exited container under a new monitor. With
  /// `attach`, the returned connection carries its output from the first byte.
  public func startContainer(_ reference: String, attach: Bool) throws(BerthError) -> StartOutcome {
    Trace.mark("start: begin")
    var container = try lookup(reference)
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    container = try refresh(container.id)
    Trace.mark("start: locked and refreshed")
    guard container.state != .running && container.state != .paused else {
      throw BerthError(
        .invalidState, "container \(container.name) is already running",
        hint: "stop it first, or `berth attach \(container.name)`")
    }
    let config = try container.decodedConfig()
    // Only a user namespace's init is moved into its cgroups by its parent
    // (BerthRuntime's Cgroups.Join): that move waits on the kernel's lock.
    if config.idMaps != nil { CgroupWarmUp.start() }
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    let runDirectory = self.runDirectory(container.id)
    // A monitor still alive but not (or no longer) running the container
    // (refresh adopted one that is): never a second monitor on the same id.
    if let status = monitorStatus(container.id), status.monitorAlive {
      throw BerthError(
        .invalidState,
        "container \(container.name) still has its monitor (pid \(status.monitorPid))",
        hint: "wait for it to exit, or `berth stop \(container.name)` first")
    }
    try? removeTree(runDirectory)
    try mkdirAll(runDirectory, mode: 0o700)
    try mkdirAll(runtimeRoot, mode: 0o700)
    let rootfs: String
    let snapshot: Snapshot
    let id = container.id
    // A stale mount (a start that died after it) comes off first.
    func mountRootfs() throws -> String {
      try? store.unmountSnapshot(id: id)
      return try store.mountSnapshot(snapshot, volatile: config.autoRemove)
    }
    // A monitor started ahead may load the bundle and make the cgroups
    // while the rootfs is mounted (0.7 ms of a run): when nothing before
    // the monitor's start reads the rootfs (no volume filled from it, no
    // user to look up in its /etc/passwd) and it runs our own runtime.
    var early: PendingMonitor? = nil
    do {
      snapshot = try store.snapshot(id: container.id)
      if rootless {
        // Mounted by the monitor in its own user and mount namespaces.
        rootfs = snapshot.merged
      } else {
        if config.runtime == nil, !config.mounts.contains(where: { $0.kind == .volume }),
          try (config.user ?? imageConfiguration(id: container.imageID).user ?? "").isEmpty,
          config.groupAdd.allSatisfy({ UInt32($0) != nil }),
          let pending = PrestartedMonitor.take(id: container.id)
        {
          if pending.binary == binary { early = pending } else { MonitorLauncher.cancel(pending) }
        }
        rootfs = early != nil ? snapshot.merged : try mountRootfs()
      }
    } catch {
      if let early { MonitorLauncher.cancel(early) }
      throw BerthError.wrapping(error, "cannot mount the rootfs of \(container.name)")
    }
    var attachOurs: Int32? = nil
    var network: NetworkState? = nil
    var pasta: [String]? = nil
    var slirp: SlirpConfig? = nil
    var rootlessBridge: RootlessBridge? = nil
    var rootlessPorts: PortListeners? = nil
    var networkHostLock: ObjectLock? = nil
    var started = false
    defer {
      // Released first: a start that failed may leave the host to nobody.
      if networkHostLock != nil {
        networkHostLock = nil
        if !started { stopNetworkHostIfUnused(except: nil) }
      }
    }
    Trace.mark("start: mounted")
    do {
      let imageConfig = try imageConfiguration(id: container.imageID)
      let lookupRoot =
        rootless
        ? snapshot.lowerDirectories.first { layerHas($0, "/etc/passwd") } ?? rootfs : rootfs
      let (volumes, volumeFills) = try prepareVolumes(config, rootfs: rootless ? nil : rootfs)
      if let maps = config.idMaps, !maps.isIdentity {
        try giveEmptyVolumesToMappedRoot(maps, volumes: volumes)
      }
      var joins = try namespacePaths(config)
      let exposed = Set((imageConfig.exposedPorts ?? [:]).keys).union(config.exposedPorts ?? [])
        .sorted()
      switch config.network {
      case "bridge" where rootless:
        let wired = try setUpRootlessNetworks(container, config, exposed: exposed)
        network = wired.state
        rootlessBridge = wired.bridge
        networkHostLock = wired.lock
        rootlessPorts = wired.ports
      case "bridge":
        network = try setUpNetworks(container, config, exposed: exposed)
        joins["bridge"] = network?.namespace
      case "pasta": pasta = try pastaArguments(container, config, exposed: exposed)
      case "slirp4netns": slirp = try slirpConfig(container, config, exposed: exposed)
      default: break
      }
      // Found once: where it is takes a lookup (a --rm container's is in the
      // run root), and after a reboot it is made again.
      let bundle = containerDirectory(container.id)
      try mkdirAll(bundle + "/userdata", mode: 0o700)
      try writeUserdata(container, config: config, network: network, in: bundle + "/userdata")
      var paths = SpecBuilder.Paths(
        rootfs: rootfs, userdata: bundle + "/userdata",
        cgroupsPath: cgroupsPath(container, config), volumes: volumes, rootless: rootless,
        lookupRoot: lookupRoot)
      if config.initProcess { paths.initBinary = try MonitorLauncher.initBinary() }
      paths.shmSource = try sharedMemory(container, config)
      var spec = try SpecBuilder.build(
        container: container, config: config, image: imageConfig, paths: paths,
        joinNamespaces: joins)
      Trace.mark("start: spec built")
      let chownTrees = try chownMounts(config, volumes: volumes, user: spec.process?.user)
      // Debian 12's crun 1.8 takes only 1.0.x versions; the fields are 1.0's.
      if config.runtime != nil { spec.ociVersion = "1.0.2" }
      try writeJSON(spec, to: bundle + "/config.json")
      var monitorConfig = MonitorConfig(
        id: container.id, bundle: bundle, runtimeRoot: runtimeRoot,
        logPath: bundle + "/userdata/ctr.log")
      monitorConfig.logDriver = config.logDriver
      monitorConfig.logMaxSize = config.logMaxSize
      monitorConfig.terminal = config.tty
      monitorConfig.stdin = config.interactive
      monitorConfig.autoRemove = config.autoRemove
      monitorConfig.restartPolicy = config.restart.name
      monitorConfig.restartMaxRetries = config.restart.maxRetries
      monitorConfig.health =
        config.health ?? imageHealth(imageConfig, disabled: config.noHealthcheck)
      monitorConfig.timeoutSeconds = config.timeout
      if let name = config.runtime {
        let path = try OCIRuntimeCommand.resolve(name)
        monitorConfig.runtimePath = path
        monitorConfig.runtimeRoot = externalRuntimeRoot(path)
        try mkdirAll(monitorConfig.runtimeRoot, mode: 0o700)
      }
      monitorConfig.rootfsMount = rootfs
      if config.ipcMode == "shareable" {
        monitorConfig.extraMounts = [bundle + "/userdata/shm"]
      }
      monitorConfig.removePaths = [snapshot.directory, bundle]
      monitorConfig.trashDirectory = trashDirectory
      // Rootful only: rootless, the overlay may be fuse-overlayfs's, whose
      // daemon outlives the unmount a little.
      if config.autoRemove && !rootless && snapshot.maps == nil {
        monitorConfig.spareSnapshot = SpareSnapshot(
          snapshot: snapshot.directory, directory: store.spareSnapshotsDirectory,
          limit: ContentStore.maximumSpareSnapshots)
      }
      monitorConfig.volumeFills = volumeFills
      monitorConfig.chownTrees = chownTrees
      monitorConfig.pasta = pasta
      monitorConfig.slirp4netns = slirp
      if let rootlessBridge {
        monitorConfig.rootlessBridge = rootlessBridge
        monitorConfig.exitCommand = cleanupCommand(container.id)
      } else if let network {
        monitorConfig.networkNamespace = network.namespace
        monitorConfig.hostInterfaces = network.attachments.map {
          Self.hostVethName(container.id, $0.attachment.ordinal)
        }
        if network.needsCleanup { monitorConfig.exitCommand = cleanupCommand(container.id) }
      }
      if rootless {
        let maps = try RootlessIDs.mappings()
        monitorConfig.uidMappings = maps.uid
        monitorConfig.gidMappings = maps.gid
        monitorConfig.overlayOptions = snapshot.overlayOptions(
          rootless: true, volatile: config.autoRemove)
        if let maps = snapshot.maps, let uid = IDMaps.outside(0, in: maps.uid),
          let gid = IDMaps.outside(0, in: maps.gid)
        {
          monitorConfig.upperOwner = DirectoryOwner(path: snapshot.upper, uid: uid, gid: gid)
        }
      }
      monitorConfig.awaitRootfs = early != nil
      monitorConfig.loopbackUp = config.network == "none"
      // Read once for both of us: we make the cgroups ahead with it, and
      // the monitor needs no second read of /proc/self/mountinfo (whose
      // overlay lines cost the kernel more to write than all the rest).
      // (A monitor started ahead is a rootful one.)
      let cgroupLayout = early != nil ? CgroupLayout.current() : nil
      monitorConfig.cgroupLayout = cgroupLayout
      try writeJSON(monitorConfig, to: runDirectory + "/" + RunFiles.config)
      var theirs: Int32? = nil
      if attach {
        let pair = try socketPair()
        attachOurs = pair.0
        theirs = pair.1
      }
      Trace.mark("start: monitor files written")
      let report: String
      do {
        // The monitor's end of the attach pair is its own once sent: ours
        // closes whatever happens.
        defer { if let theirs { close(theirs) } }
        if let pending = early {
          early = nil
          if MonitorLauncher.tell(pending, attachFD: theirs) {
            do {
              _ = try mountRootfs()
            } catch {
              // Its channel closes unanswered: it reports and cleans up
              // (with --rm its files too), and the start failed as if the
              // monitor had: the record says so, or goes with --rm.
              _ = MonitorLauncher.report(pending)
              let failure = BerthError.wrapping(
                error, "cannot mount the rootfs of \(container.name)")
              try? finishFailedStart(
                &container, code: EngineExit.engineError, message: failure.description)
              throw failure
            }
            Trace.mark("start: mounted after the monitor was told")
            // While the monitor loads the bundle, we make the container's
            // cgroups too: one mkdir per v1 hierarchy, each of which the
            // kernel fills with its files (0.6 ms of the monitor's path).
            // Its own pass finds them made and owns them from there. Done
            // before the go: the container cannot run, exit and have its
            // cgroups removed while we still make them.
            let helped = cgroupLayout.map { cgroupsMadeAhead(spec, layout: $0) } ?? []
            try? PrestartChannel.sendRootfsMounted(pending.channel)
            report = MonitorLauncher.report(pending)
            if !report.hasPrefix("ok") { Cgroups.remove(helped) }
          } else {
            // Gone before it was told (killed): a new one, with nothing to await.
            _ = try mountRootfs()
            monitorConfig.awaitRootfs = false
            try writeJSON(monitorConfig, to: runDirectory + "/" + RunFiles.config)
            report = try MonitorLauncher.start(
              binary: binary, runDirectory: runDirectory, attachFD: theirs)
          }
        } else {
          report = try startMonitor(
            id: container.id, binary: binary, runDirectory: runDirectory, attachFD: theirs)
        }
      }
      Trace.mark("start: monitor reported \(report)")
      if report.hasPrefix("ok") {
        let status = MonitorStatus.load(runDirectory + "/" + RunFiles.status)
        if let rootlessPorts, let rootlessBridge {
          try startPortProxy(
            container.id, rootlessPorts, host: rootlessBridge.hostPid,
            monitor: status?.monitorPid ?? 0)
        }
        container.state = .running
        container.pid = status?.pid ?? 0
        container.startedAt = status?.startedAt
        container.exitCode = nil
        container.finishedAt = nil
        container.reason = nil
        container.health = status?.health
        let recorded = container
        try database.write { db in
          // A waiter's refresh (another Engine's, in this process or not)
          // may already have folded in this run (and recorded its start
          // event), its exit, even the deletion of a --rm container's row:
          // that account stands.
          guard let current = try Container.row(db, id: recorded.id) else { return }
          let foldedIn =
            current.state != .created && recorded.startedAt != nil
            && current.startedAt == recorded.startedAt
          if foldedIn { return }
          try recorded.updateRow(db)
          try Self.recordStart(db, recorded)
        }
        Trace.mark("start: recorded")
        started = true
        return StartOutcome(container: container, attach: attachOurs)
      }
      let message =
        report.hasPrefix("error ") ? String(report.dropFirst(6)) : "the monitor exited: \(report)"
      let code = EngineExit.code(forStartError: message)
      try? finishFailedStart(&container, code: code, message: message)
      throw BerthError(code == 126 ? .permissionDenied : code == 127 ? .notFound : .system, message)
    } catch {
      if let early { MonitorLauncher.cancel(early) }
      if let attachOurs { close(attachOurs) }
      if network != nil || pasta != nil || slirp != nil {
        tearDownNetworks(container.id, release: false)
      }
      try? store.unmountSnapshot(id: container.id)
      throw BerthError.wrapping(error, "cannot start \(container.name)")
    }
  }

  func finishFailedStart(_ container: inout Container, code: Int32, message: String)
    throws(BerthError)
  {
    container.state = .exited
    container.exitCode = code
    container.finishedAt = rfc3339Now()
    container.reason = message
    let updated = container
    try database.write { db in try updated.updateRow(db) }
    if (try? updated.decodedConfig())?.autoRemove == true {
      try? removeContainerFiles(updated, volumes: true)
    }
  }

  /// Whether an image layer has `path`, looked up in the layer's root by fd.
  func layerHas(_ layer: String, _ path: String) -> Bool {
    guard let fd = try? RootFS(path: layer).open(path, flags: O_PATH, noSymlinks: true) else {
      return false
    }
    close(fd)
    return true
  }

  /// `:U`: each such mount's source is given to the container's user, as
  /// podman does (chown -R -h: symlinks themselves, never what they point
  /// at), numbered as the host (or, rootless, the monitor's namespace) sees
  /// it. Rootless, only the monitor may chown to subordinate ids: the trees
  /// are returned for it.
  func chownMounts(_ config: ContainerConfig, volumes: [String: String], user: Spec.User?)
    throws(BerthError) -> [DirectoryOwner]
  {
    var trees: [DirectoryOwner] = []
    for mount in config.mounts where mount.chown {
      let source = mount.kind == .volume ? volumes[mount.destination] : mount.source
      guard let source, let user else { continue }
      var owner = DirectoryOwner(path: source, uid: user.uid, gid: user.gid)
      if let maps = config.idMaps, !maps.isIdentity {
        guard let uid = IDMaps.outside(user.uid, in: maps.uid),
          let gid = IDMaps.outside(user.gid, in: maps.gid)
        else {
          throw BerthError(
            .invalidArgument, "\(user.uid):\(user.gid) is not mapped for :U on \(source)",
            hint: "run as a user the --uidmap/--gidmap maps, or drop :U")
        }
        owner.uid = uid
        owner.gid = gid
      }
      if rootless {
        trees.append(owner)
      } else {
        try RootFS.chownTree(source, uid: owner.uid, gid: owner.gid)
      }
    }
    return trees
  }

  /// The cgroups of `spec`, made now for its monitor (as root, with
  /// cgroupfs): the directories made, for removal if the start fails.
  func cgroupsMadeAhead(_ spec: Spec, layout: CgroupLayout) -> [String] {
    guard !rootless, let path = spec.linux?.cgroupsPath, path.hasPrefix("/") else { return [] }
    return
      (try? Cgroups.create(layout: layout, path: path, relative: false, rootless: false)) ?? []
  }

  func cgroupsPath(_ container: Container, _ config: ContainerConfig) -> String? {
    if rootless { return nil }
    // BERTH_CGROUP_PARENT sets the default parent, as containers.conf's
    // cgroup_parent does for podman (tests keep their cgroups apart with it).
    let parent =
      config.cgroupParent ?? getenv("BERTH_CGROUP_PARENT").map { String(cString: $0) } ?? "/berth"
    return (parent.hasPrefix("/") ? parent : "/" + parent) + "/berth-" + container.id
  }

  /// `--pid/--ipc container:NAME`: that container's namespace files.
  func namespacePaths(_ config: ContainerConfig) throws(BerthError) -> [String: String] {
    var paths: [String: String] = [:]
    for (mode, kind) in [(config.pidMode, "pid"), (config.ipcMode, "ipc"), (config.network, "net")]
    {
      guard let mode, mode.hasPrefix("container:") else { continue }
      let other = try refresh(try lookup(String(mode.dropFirst(10))).id)
      guard other.state == .running, other.pid > 0 else {
        throw BerthError(
          .invalidState, "container \(other.name) is not running", hint: "start it first")
      }
      paths[mode] = "/proc/\(other.pid)/ns/\(kind)"
    }
    return paths
  }

  /// The container's health check: its flags', else its image's.
  public func healthCheck(_ container: Container) throws(BerthError) -> HealthConfig? {
    let config = try container.decodedConfig()
    if let health = config.health { return health }
    guard let image = try? store.resolveImage(container.imageID) else { return nil }
    return imageHealth(try imageConfiguration(image), disabled: config.noHealthcheck)
  }

  /// The image's HEALTHCHECK, unless `--no-healthcheck` or `--health-cmd`.
  func imageHealth(_ image: ImageConfig.Config, disabled: Bool) -> HealthConfig? {
    guard !disabled, let check = image.healthcheck, let test = check.test, !test.isEmpty,
      test != ["NONE"]
    else { return nil }
    var health = HealthConfig(test: test)
    if let value = check.interval, value > 0 { health.intervalSeconds = Double(value) / 1e9 }
    if let value = check.timeout, value > 0 { health.timeoutSeconds = Double(value) / 1e9 }
    if let value = check.startPeriod, value > 0 { health.startPeriodSeconds = Double(value) / 1e9 }
    if let value = check.retries, value > 0 { health.retries = value }
    return health
  }

  /// `--ipc shareable`: /dev/shm is a tmpfs on the host (userdata/shm), so
  /// that `--ipc container:NAME` can bind it; a mount in the container's
  /// own namespace cannot be bound from another. Docker's rule: only a
  /// shareable container's IPC may be joined.
  func sharedMemory(_ container: Container, _ config: ContainerConfig) throws(BerthError) -> String?
  {
    guard let mode = config.ipcMode else { return nil }
    if mode == "shareable" {
      guard !rootless else {
        throw BerthError(
          .unsupported, "--ipc shareable needs root (the shared /dev/shm is a host mount)")
      }
      let shm = containerDirectory(container.id) + "/userdata/shm"
      try mkdirAll(shm, mode: 0o1777)
      if !isMountPoint(shm) {
        let size = config.shmSize ?? 65_536_000
        try check("mount the shared /dev/shm of \(container.name)") {
          mount(
            "shm", shm, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=1777,size=\(size)")
        }
      }
      return shm
    }
    guard mode.hasPrefix("container:") else { return nil }
    let other = try lookup(String(mode.dropFirst(10)))
    guard (try other.decodedConfig()).ipcMode == "shareable" else {
      throw BerthError(
        .invalidState, "container \(other.name)'s IPC namespace is not shareable",
        hint: "start it with --ipc shareable")
    }
    return containerDirectory(other.id) + "/userdata/shm"
  }

  /// /etc/hosts, /etc/hostname, /etc/resolv.conf and /run/.containerenv,
  /// in the container's userdata directory `dir`.
  func writeUserdata(
    _ container: Container, config: ContainerConfig, network: NetworkState?, in dir: String
  ) throws(BerthError) {
    let hostname = config.hostname ?? container.shortID
    let hosts = ContainerNetworkFiles.hosts(
      container: container, hostname: hostname, config: config, network: network)
    let resolv = ContainerNetworkFiles.resolvConf(config: config, network: network)
    let containerenv = """
      engine="berth-0.1.0"
      name="\(container.name)"
      id="\(container.id)"
      image="\(container.imageName)"
      imageid="\(container.imageID)"
      rootless=\(rootless ? 1 : 0)

      """
    for (name, text) in [
      ("hosts", hosts), ("hostname", hostname + "\n"), ("resolv.conf", resolv),
      (".containerenv", containerenv),
    ] {
      try writeFileAtomically(dir + "/" + name, Array(text.utf8), mode: 0o644, durable: false)
    }
  }

  func writeJSON(_ value: some Encodable, to path: String) throws(BerthError) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data: Data
    do { data = try encoder.encode(value) } catch {
      throw BerthError(.internalError, "cannot encode \(path): \(error)")
    }
    try writeFileAtomically(path, Array(data), mode: 0o600, durable: false)
  }

  // MARK: Live state

  /// The container's row with the monitor's status folded in: an exit
  /// recorded, a `--rm` container's row deleted (nil then), a container
  /// whose monitor died marked exited with the reason.
  @discardableResult
  public func refresh(_ id: String) throws(BerthError) -> Container {
    guard let container = try refreshOptional(id) else {
      throw BerthError(.notFound, "no container with name or ID \"\(id)\" found")
    }
    return container
  }

  func refreshOptional(_ id: String) throws(BerthError) -> Container? {
    guard var container = try database.read({ db in try Container.row(db, id: id) }) else {
      return nil
    }
    var status = monitorStatus(id)
    // Liveness is sampled once, after the read. A monitor seen dead with a
    // status that is not its last may have written the last one and exited
    // between the two: read it again, now that it is gone (a waiter woken
    // by the status rename hits exactly that window).
    var alive = status?.monitorAlive ?? false
    if let first = status, !alive, !(first.state == .exited && first.removed) {
      status = monitorStatus(id) ?? first
      // A start may have put a new monitor there meanwhile: its own word.
      if let again = status,
        again.monitorPid != first.monitorPid
          || again.monitorStartTime != first.monitorStartTime
      {
        alive = again.monitorAlive
      }
    }
    var changed = false
    // A run the start has not recorded yet: its event comes first.
    var startSeen = false
    if container.state == .created || container.state == .exited {
      // A start killed after its monitor started the container, before it
      // recorded so: the monitor's account is the truth.
      guard let status, alive, status.state == .running else { return container }
      container.state = .running
      container.exitCode = nil
      container.finishedAt = nil
      container.reason = nil
      changed = true
      startSeen = true
    }
    if let status {
      // `removed` is the monitor's last word: it has cleaned up and is exiting.
      if status.state == .exited && (status.removed || !alive) {
        if status.removed {
          // The monitor may still be deleting the trees it moved aside; it
          // has nothing left in the run directory or the database.
          let config = try container.decodedConfig()
          if config.hasNetworkState { tearDownNetworks(id, release: true, monitorDone: true) }
          let gone = container
          try database.write { db in
            if startSeen { try Self.recordStart(db, gone) }
            try Container.deleteRow(db, id: id)
            try EventLog.record(
              db, type: "container", action: "remove", id: id, name: gone.name, attributes: [:]
            )
          }
          try removeAnonymousVolumes(config)
          try? removeTree(runDirectory(id))
          removedExitCodes[id] = status.exitCode
          return nil
        }
        container.state = .exited
        container.exitCode = status.exitCode
        container.finishedAt = status.finishedAt
        container.reason = status.error
        changed = true
      } else if !alive {
        // Its processes may live on in their cgroup: a container without a
        // monitor is stopped for good (rm cleans the rest).
        driver(container).delete(id)
        container.state = .exited
        container.exitCode = status.exitCode ?? 137
        container.finishedAt = container.finishedAt ?? rfc3339Now()
        container.reason = "its monitor (pid \(status.monitorPid)) exited unexpectedly"
        changed = true
      }
      if container.pid != status.pid || container.restartCount != status.restartCount
        || container.health != status.health
      {
        container.pid = status.pid
        container.restartCount = status.restartCount
        container.health = status.health
        changed = true
      }
      if status.startedAt != container.startedAt && status.startedAt != nil {
        container.startedAt = status.startedAt
        changed = true
      }
    } else {
      container.state = .exited
      container.exitCode = 137
      container.reason = "its monitor left no status (the run directory is gone, after a reboot?)"
      changed = true
    }
    if changed && container.state == .exited
      && (try? container.decodedConfig())?.hasNetworkState == true
    {
      // A monitor that finished (status exited) removed the namespace, its
      // veths and pasta itself; after a dead one, all of it is ours.
      tearDownNetworks(id, release: false, monitorDone: status?.state == .exited)
    }
    if changed {
      let updated = container
      try database.write { db in
        try updated.updateRow(db)
        if startSeen { try Self.recordStart(db, updated) }
        if updated.state == .exited {
          try EventLog.record(
            db, type: "container", action: "died", id: id, name: updated.name,
            attributes: ["exitCode": "\(updated.exitCode ?? -1)"])
        }
      }
    }
    return container
  }

  /// The `start` event of a container's run: recorded by the start, or by
  /// the refresh that saw the run first.
  static func recordStart(_ db: Database, _ container: Container) throws {
    try EventLog.record(
      db, type: "container", action: "start", id: container.id, name: container.name,
      attributes: ["image": container.imageName])
  }

  public func monitorStatus(_ id: String) -> MonitorStatus? {
    MonitorStatus.load(runDirectory(id) + "/" + RunFiles.status)
  }

  // MARK: Lookup

  /// By exact name, exact id or unique id prefix, as podman resolves them.
  public func lookup(_ reference: String) throws(BerthError) -> Container {
    guard let container = try lookupOptional(reference) else {
      throw BerthError(.notFound, "no container with name or ID \"\(reference)\" found")
    }
    return container
  }

  func lookupOptional(_ reference: String) throws(BerthError) -> Container? {
    try database.read { db -> Container? in
      // A full id first, as docker and podman look one up (and `run` starts
      // the container it made by its id); ids are all 64 hex digits.
      if reference.utf8.count == 64, let byID = try Container.row(db, id: reference) {
        return byID
      }
      if let byName = try Container.row(db, name: reference) {
        return byName
      }
      guard reference.count >= 3, reference.allSatisfy(\.isHexDigit) else { return nil }
      let matches = try Container.rows(db, idPrefix: reference.lowercased(), limit: 2)
      if matches.count > 1 {
        throw BerthError(
          .invalidArgument, "more than one container matches \"\(reference)\"",
          hint: "give more of the id, or the name")
      }
      return matches.first
    }
  }

  /// All containers, live state folded in.
  public func containers() throws(BerthError) -> [Container] {
    let rows = try database.read { db in try Container.all(db) }
    var result: [Container] = []
    for row in rows {
      // A created row with a status file: a start killed mid-way (adopted).
      if row.state == .running || row.state == .paused
        || row.state == .created && fileExists(runDirectory(row.id) + "/" + RunFiles.status)
      {
        if let container = try refreshOptional(row.id) { result.append(container) }
      } else {
        result.append(row)
      }
    }
    return result
  }

  // MARK: Stop, kill

  /// Sends the stop signal, then SIGKILL after `timeout` seconds; returns
  /// once the monitor recorded the exit.
  public func stopContainer(_ reference: String, timeout: Int?) throws(BerthError) -> Container {
    var container = try lookup(reference)
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    container = try refresh(container.id)
    guard container.state == .running || container.state == .paused else {
      // Exited but its monitor alive: a restart back-off, which must not
      // restart it after this stop.
      if monitorStatus(container.id)?.monitorAlive == true {
        try requestStop(container.id)
        _ = waitForMonitor(container.id, seconds: 10)
        return try refreshOptional(container.id) ?? container
      }
      return container
    }
    let config = try container.decodedConfig()
    let signal = try Signal.parse(config.stopSignal ?? stopSignalOfImage(container) ?? "TERM")
    let grace = timeout ?? config.stopTimeout ?? 10
    try requestStop(container.id)
    recordEvent(container, "kill", ["signal": "\(signal)"])
    let driver = self.driver(config, id: container.id)
    if container.state == .paused { try? driver.resume(container.id) }
    try? driver.kill(container.id, signal: signal, all: false)
    if !waitForMonitor(container.id, seconds: Double(grace)) {
      recordEvent(container, "kill", ["signal": "\(SIGKILL)"])
      try? driver.kill(container.id, signal: SIGKILL, all: true)
      _ = waitForMonitor(container.id, seconds: 10)
    }
    let stopped = try refreshOptional(container.id) ?? container
    recordEvent(container, "stop")
    return stopped
  }

  /// Tells the monitor not to restart the container. A monitor waiting
  /// out a restart back-off sleeps in poll until the restart is due (up to
  /// a minute): a connection to its attach socket wakes it, and it reads
  /// the request and ends instead.
  func requestStop(_ id: String) throws(BerthError) {
    let runDirectory = self.runDirectory(id)
    try writeFileAtomically(
      runDirectory + "/" + RunFiles.stopRequested, [], mode: 0o600, durable: false)
    if let socket = try? UnixSocket.connect(directory: runDirectory, name: RunFiles.attach) {
      close(socket)
    }
  }

  func stopSignalOfImage(_ container: Container) -> String? {
    guard let image = try? store.resolveImage(container.imageID) else { return nil }
    return (try? imageConfiguration(image))?.stopSignal
  }

  /// Waits until the monitor has exited (it records the end first);
  /// false on timeout. A pidfd wakes us the moment it goes.
  func waitForMonitor(_ id: String, seconds: Double) -> Bool {
    guard let status = monitorStatus(id), status.monitorAlive else { return true }
    let pidfd = pidfdOpen(status.monitorPid)
    defer { if pidfd >= 0 { close(pidfd) } }
    // The pid may have been reused between the check and pidfd_open.
    guard pidfd >= 0, status.monitorAlive else { return !status.monitorAlive }
    var fds = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
    let deadline = monotonicMilliseconds() + Int64(seconds * 1000)
    while true {
      let left = deadline - monotonicMilliseconds()
      if left <= 0 { return false }
      let ready = poll(&fds, 1, Int32(clamping: left))
      if ready > 0 { return true }
      if ready < 0 && currentErrno != .interrupted { return !status.monitorAlive }
    }
  }

  public func killContainer(_ reference: String, signal: Int32) throws(BerthError) -> Container {
    // No lock: a signal may be sent while `stop` waits (which holds it).
    let container = try refresh(try lookup(reference).id)
    guard container.state == .running || container.state == .paused else {
      throw BerthError(.invalidState, "container \(container.name) is not running")
    }
    try driver(container).kill(container.id, signal: signal, all: false)
    recordEvent(container, "kill", ["signal": "\(signal)"])
    return container
  }

  // MARK: Remove

  /// Removes a container; a running one only with `force` (it is killed).
  public func removeContainer(_ reference: String, force: Bool, volumes: Bool) throws(BerthError)
    -> Container
  {
    var container = try lookup(reference)
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    guard let refreshed = try refreshOptional(container.id) else { return container }
    container = refreshed
    if container.state == .running || container.state == .paused {
      guard force else {
        throw BerthError(
          .invalidState, "container \(container.name) is running",
          hint: "stop it first or use --force")
      }
      try? writeFileAtomically(
        runDirectory(container.id) + "/" + RunFiles.stopRequested, [], durable: false)
      let driver = self.driver(container)
      if container.state == .paused { try? driver.resume(container.id) }
      try? driver.kill(container.id, signal: SIGKILL, all: true)
      if !waitForMonitor(container.id, seconds: 10) {
        // A monitor that will not go is killed too; its cleanup is ours.
        if let status = monitorStatus(container.id) { kill(status.monitorPid, SIGKILL) }
      }
    }
    try removeContainerFiles(container, volumes: volumes)
    return container
  }

  /// Everything of a stopped container: runtime state, cgroup, mounts,
  /// snapshot, files, row (and anonymous volumes with `volumes`).
  func removeContainerFiles(_ container: Container, volumes: Bool) throws(BerthError) {
    umount2(containerDirectory(container.id) + "/userdata/shm", Int32(MNT_DETACH))
    if (try? container.decodedConfig())?.hasNetworkState == true {
      tearDownNetworks(container.id, release: true)
    }
    driver(container).delete(container.id)
    do {
      try store.removeSnapshot(id: container.id)
    } catch {
      if fileExists(store.snapshotDirectory(container.id)) {
        throw BerthError.wrapping(error, "cannot remove the rootfs of \(container.name)")
      }
    }
    try? removeTree(containerDirectory(container.id))
    try? removeTree(runDirectory(container.id))
    unlink(locksRoot + "/" + container.id)
    try database.write { db in
      try Container.deleteRow(db, id: container.id)
      try EventLog.record(
        db, type: "container", action: "remove", id: container.id, name: container.name,
        attributes: [:])
    }
    let config = try container.decodedConfig()
    if volumes || config.autoRemove { try removeAnonymousVolumes(config) }
  }

  func removeAnonymousVolumes(_ config: ContainerConfig) throws(BerthError) {
    for mount in config.mounts where mount.kind == .volume {
      // Still used by another container (-v ID:/path): it stays, as docker's do.
      if let volume = try volumeOptional(mount.source), volume.anonymous {
        try? removeVolume(volume.name, force: false)
      }
    }
  }

  // MARK: Waiting

  /// Blocks until the container is no longer running (or exited again
  /// after a restart); returns its exit code.
  public func waitForExit(_ reference: String, condition: String = "stopped") throws(BerthError)
    -> Int32
  {
    let id = try lookup(reference).id
    let watch = ExitWatch(self, id: id)
    while true {
      guard let container = try refreshOptional(id) else {
        if condition == "removed" { return 0 }
        // A --rm container this process saw go: its last status's code.
        if let code = removedExitCodes[id] { return code }
        throw BerthError(.notFound, "container \(reference) was removed before it exited")
      }
      switch condition {
      case "running" where container.state == .running: return 0
      case "healthy" where container.health == "healthy": return 0
      case "unhealthy" where container.health == "unhealthy": return 0
      case "stopped", "exited":
        if container.state == .exited || container.state == .created {
          return container.exitCode ?? 0
        }
      case "removed", "running", "healthy", "unhealthy": break
      default:
        throw BerthError(
          .invalidArgument, "invalid wait condition \"\(condition)\"",
          hint: "use stopped, exited, running, healthy, unhealthy or removed")
      }
      // Health changes are not in the run directory: those are polled.
      watch.wait(milliseconds: 100)
    }
  }
}

extension BerthError {
  /// `error` as a BerthError, with `context` in front when it is another kind.
  static func wrapping(_ error: any Error, _ context: String) -> BerthError {
    if let error = error as? BerthError { return error }
    return BerthError(.system, "\(context): \(error)")
  }

}

extension Engine {
  public func pauseContainer(_ reference: String, pause: Bool) throws(BerthError) {
    let id = try lookup(reference).id
    let lock = try self.lock(container: id)
    defer { withExtendedLifetime(lock) {} }
    let container = try refresh(id)
    if pause {
      guard container.state == .running else {
        throw BerthError(
          .invalidState, "container \(container.name) is \(container.state.rawValue), not running")
      }
      try driver(container).pause(container.id)
    } else {
      guard container.state == .paused else {
        throw BerthError(.invalidState, "container \(container.name) is not paused")
      }
      try driver(container).resume(container.id)
    }
    let state = pause ? Container.State.paused : .running
    try database.write { db in
      try db.execute(
        sql: "UPDATE container SET state = ? WHERE id = ?",
        arguments: [state.rawValue, container.id])
      try EventLog.record(
        db, type: "container", action: pause ? "pause" : "unpause", id: container.id,
        name: container.name, attributes: [:])
    }
  }

  public func renameContainer(_ reference: String, to name: String) throws(BerthError) {
    try ContainerNames.validate(name)
    var container = try lookup(reference)
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    container = try refresh(container.id)
    container.name = name
    let row = container
    try database.write { db in
      if try Container.nameTaken(db, name) { throw nameInUse(name) }
      try row.updateRow(db)
      try EventLog.record(
        db, type: "container", action: "rename", id: row.id, name: name, attributes: [:])
    }
  }
}

extension Engine {
  /// The argv the container runs: its command over the image's.
  public func containerCommand(_ container: Container) throws(BerthError) -> [String] {
    var cache: [String: ImageConfig.Config] = [:]
    return try containerCommand(container, config: try container.decodedConfig(), images: &cache)
  }

  /// The same, with image configs cached by id across calls (`ps` of many
  /// containers of few images reads each image's config once).
  public func containerCommand(
    _ container: Container, config: ContainerConfig, images: inout [String: ImageConfig.Config]
  ) throws(BerthError) -> [String] {
    try containerCommand(
      container, entrypoint: config.entrypoint, command: config.command, images: &images)
  }

  public func containerCommand(
    _ container: Container, entrypoint: [String]?, command: [String]?,
    images: inout [String: ImageConfig.Config]
  ) throws(BerthError) -> [String] {
    if let image = images[container.imageID] {
      return SpecBuilder.arguments(entrypoint: entrypoint, command: command, image: image)
    }
    guard let image = try? store.resolveImage(container.imageID) else {
      return (entrypoint ?? []) + (command ?? [])
    }
    let imageConfig = try imageConfiguration(image)
    images[container.imageID] = imageConfig
    return SpecBuilder.arguments(entrypoint: entrypoint, command: command, image: imageConfig)
  }
}

/// One sample of a container's cgroup counters.
public struct ContainerStats: Sendable {
  public var id: String
  public var name: String
  public var cpuNanoseconds: UInt64
  public var memoryUsage: UInt64
  public var memoryLimit: UInt64
  public var pids: UInt64
  /// Bytes received and sent on the container's own interfaces (nil when
  /// it shares another namespace's network).
  public var network: InterfaceCounters? = nil
  /// The CPU time split as the cgroup counts it, and per CPU (v1 only).
  public var cpuKernelNanoseconds: UInt64 = 0
  public var cpuUserNanoseconds: UInt64 = 0
  public var perCPUNanoseconds: [UInt64] = []
  /// memory.stat's counters (cache, rss, inactive_file, ...).
  public var memoryDetails: [String: UInt64] = [:]
  public var pidsLimit: UInt64?
}

extension Engine {
  /// Host pids of the container's processes.
  public func containerProcesses(_ reference: String) throws(BerthError) -> [pid_t] {
    let container = try refresh(try lookup(reference).id)
    guard container.state == .running || container.state == .paused else {
      throw BerthError(.invalidState, "container \(container.name) is not running")
    }
    return try driver(container).pids(container.id)
  }

  public func stats(_ reference: String) throws(BerthError) -> ContainerStats {
    let container = try refresh(try lookup(reference).id)
    guard container.state == .running || container.state == .paused else {
      return ContainerStats(
        id: container.id, name: container.name, cpuNanoseconds: 0, memoryUsage: 0, memoryLimit: 0,
        pids: 0)
    }
    let stats = try driver(container).stats(container.id)
    var result = ContainerStats(
      id: container.id, name: container.name, cpuNanoseconds: stats.cpu.usage.total,
      memoryUsage: stats.memory.usage.usage ?? 0, memoryLimit: stats.memory.usage.limit ?? 0,
      pids: stats.pids.current)
    result.cpuKernelNanoseconds = stats.cpu.usage.kernel
    result.cpuUserNanoseconds = stats.cpu.usage.user
    result.perCPUNanoseconds = stats.cpu.usage.percpu ?? []
    result.memoryDetails = stats.memory.raw ?? [:]
    result.pidsLimit = stats.pids.limit
    if (try? container.decodedConfig())?.hasNetworkState == true {
      result.network = Self.interfaceCounters(pid: container.pid)
    }
    return result
  }

  /// /proc/PID/net/dev shows the network namespace of PID: the sums of its
  /// interfaces but lo.
  static func interfaceCounters(pid: Int32) -> InterfaceCounters? {
    guard pid > 0, let bytes = try? readFile("/proc/\(pid)/net/dev", limit: 1 << 20) else {
      return nil
    }
    var total = InterfaceCounters()
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst(2) {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].filter { $0 != " " }
      let fields = line[line.index(after: colon)...].split(separator: " ").map { UInt64($0) ?? 0 }
      guard name != "lo", fields.count >= 12 else { continue }
      // Receive: bytes packets errs drop ...; transmit from the ninth on.
      total.received += fields[0]
      total.receivedPackets += fields[1]
      total.receivedErrors += fields[2]
      total.receivedDropped += fields[3]
      total.sent += fields[8]
      total.sentPackets += fields[9]
      total.sentErrors += fields[10]
      total.sentDropped += fields[11]
    }
    return total
  }
}

/// The counters of a container's interfaces but lo, summed.
public struct InterfaceCounters: Sendable {
  public var received: UInt64 = 0
  public var receivedPackets: UInt64 = 0
  public var receivedErrors: UInt64 = 0
  public var receivedDropped: UInt64 = 0
  public var sent: UInt64 = 0
  public var sentPackets: UInt64 = 0
  public var sentErrors: UInt64 = 0
  public var sentDropped: UInt64 = 0
}
