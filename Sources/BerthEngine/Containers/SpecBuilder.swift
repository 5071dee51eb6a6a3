// Image config + the user's flags → the OCI spec the runtime runs, on
// podman's defaults: its capability set, masked and read-only paths, the
// default seccomp profile, /dev/shm, and /etc/hosts, /etc/hostname,
// /etc/resolv.conf and /run/.containerenv written per container.
import BerthImage
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc
import SystemPackage

public enum SpecBuilder {
  /// Podman's default capabilities (containers.conf).
  public static let defaultCapabilities = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
    "CAP_SYS_CHROOT",
  ]

  public static let defaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

  /// The process's argv as docker composes it: Entrypoint then Cmd, where
  /// an --entrypoint given on the command line drops the image's Cmd.
  public static func arguments(config: ContainerConfig, image: ImageConfig.Config) -> [String] {
    arguments(entrypoint: config.entrypoint, command: config.command, image: image)
  }

  /// Docker's rule: the container's entrypoint and command over the
  /// image's; an entrypoint given alone drops the image's command.
  public static func arguments(
    entrypoint given: [String]?, command: [String]?, image: ImageConfig.Config
  ) -> [String] {
    let entrypoint = given ?? image.entrypoint ?? []
    return entrypoint + (command ?? (given == nil ? image.cmd ?? [] : []))
  }

  /// Capabilities after --cap-add/--cap-drop ("ALL" allowed in both).
  public static func capabilities(_ config: ContainerConfig) throws(BerthError) -> [String] {
    // A host without CAP_SYS_RESOURCE, say, cannot grant it to a container.
    let all = Capability.boundingSet
    if config.privileged { return all }
    func normalise(_ name: String) throws(BerthError) -> String {
      let upper = name.uppercased()
      if upper == "ALL" { return upper }
      let full = upper.hasPrefix("CAP_") ? upper : "CAP_" + upper
      guard all.contains(full) else {
        throw BerthError(
          .invalidArgument, "unknown capability \"\(name)\"", hint: "use names such as NET_ADMIN")
      }
      return full
    }
    var caps = defaultCapabilities
    let drops = try config.capDrop.map(normalise)
    if drops.contains("ALL") { caps = [] } else { caps.removeAll { drops.contains($0) } }
    for add in try config.capAdd.map(normalise) {
      if add == "ALL" { caps = all } else if !caps.contains(add) { caps.append(add) }
    }
    return caps
  }

  public struct Paths {
    /// The mounted rootfs.
    public var rootfs: String
    /// Where hosts, hostname, resolv.conf and .containerenv are written.
    public var userdata: String
    public var cgroupsPath: String?
    /// Host paths of the container's volumes, by destination.
    public var volumes: [String: String]
    /// The container runs as root of the monitor's user namespace: no
    /// cgroup limits and no cgroup mount.
    public var rootless: Bool
    /// Where the image's /etc/passwd and /etc/group are read (the mounted
    /// rootfs, or rootless, where the CLI cannot mount it, the top layer
    /// that has them).
    public var lookupRoot: String
    /// `--init`: berth-init on the host, bound read-only at /run/berth-init.
    public var initBinary: String?
    /// `--ipc container:NAME`: that container's /dev/shm, shared as podman does.
    public var shmSource: String?
    public init(
      rootfs: String, userdata: String, cgroupsPath: String?, volumes: [String: String],
      rootless: Bool, lookupRoot: String? = nil
    ) {
      self.rootfs = rootfs
      self.userdata = userdata
      self.cgroupsPath = cgroupsPath
      self.volumes = volumes
      self.rootless = rootless
      self.lookupRoot = lookupRoot ?? rootfs
    }
  }

  public static func build(
    container: Container, config: ContainerConfig, image: ImageConfig.Config, paths: Paths,
    joinNamespaces: [String: String] = [:]
  ) throws(BerthError) -> Spec {
    // Rootless, the monitor's user namespace maps the image's ids, so the
    // container needs no user namespace of its own: root's spec, without
    // what only the host's root may have (cgroup limits, a cgroup mount).
    var spec = Spec.runtimeDefault(rootless: false)
    if paths.rootless { spec.linux?.resources = nil }
    // The kernel lets only the host's root mount cgroup v1 hierarchies, and
    // cgroup2 only from a cgroup namespace of the mounting user namespace:
    // rootless, and in a container's own user namespace unless cgroup2
    // alone and a private cgroup namespace, /sys/fs/cgroup is left out.
    if paths.rootless
      || (config.idMaps != nil
        && (config.cgroupns == "host" || !CgroupLayout.current().isUnified))
    {
      spec.mounts?.removeAll { $0.destination == "/sys/fs/cgroup" }
    }
    spec.root = Spec.Root(path: paths.rootfs, readonly: config.readOnly)
    // With the host's network, the host's name, as docker and podman give.
    spec.hostname =
      config.hostname ?? (config.network == "host" ? hostName() : nil) ?? container.shortID
    guard var process = spec.process else {
      throw BerthError(.internalError, "the default runtime spec has no process")
    }
    let args = arguments(config: config, image: image)
    guard !args.isEmpty else {
      throw BerthError(
        .invalidArgument, "no command specified for image \(container.imageName)",
        hint: "give a command after the image name, or --entrypoint")
    }
    process.args = args
    if config.initProcess, paths.initBinary != nil {
      process.args = ["/run/berth-init", "--"] + args
    }
    process.terminal = config.tty
    var env = [defaultPath]
    if config.tty { env.append("TERM=xterm") }
    env += ["container=berth", "HOSTNAME=\(spec.hostname ?? "")"]
    process.env = ContentStore.mergeEnvironment(env, image.env ?? [], config.env)
    let cwd = config.workingDir ?? image.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
    guard cwd.hasPrefix("/") else {
      throw BerthError(.invalidArgument, "working directory \"\(cwd)\" is not absolute")
    }
    process.cwd = cwd
    let user: (uid: UInt32, gid: UInt32, additionalGids: [UInt32], home: String)
    do {
      user = try ContentStore.resolveUserAndHome(
        config.user ?? image.user ?? "", rootfs: paths.lookupRoot)
    } catch let error as BerthError {
      throw error
    } catch {
      throw BerthError(.invalidArgument, "cannot resolve the user: \(error)")
    }
    if !(process.env ?? []).contains(where: { $0.hasPrefix("HOME=") }) {
      process.env = (process.env ?? []) + ["HOME=\(user.home)"]
    }
    var gids = user.additionalGids
    for group in config.groupAdd {
      guard let gid = UInt32(group) ?? groupID(group, rootfs: paths.lookupRoot) else {
        throw BerthError(.notFound, "group \"\(group)\" is not in the image's /etc/group")
      }
      if !gids.contains(gid) { gids.append(gid) }
    }
    process.user = Spec.User(
      uid: user.uid, gid: user.gid, additionalGids: gids.isEmpty ? nil : gids)
    let caps = try capabilities(config)
    // Podman gives a non-root user no effective capabilities, only bounding.
    let effective = user.uid == 0 ? caps : []
    process.capabilities = Spec.Capabilities(
      bounding: caps, effective: effective, inheritable: nil, permitted: effective, ambient: nil)
    process.noNewPrivileges = config.noNewPrivileges ? true : nil
    process.rlimits = try config.ulimits.map(parseUlimit)
    if process.rlimits?.isEmpty == true { process.rlimits = nil }
    spec.process = process

    var mounts = spec.mounts ?? []
    let defaultCount = mounts.count
    if let source = paths.shmSource,
      let index = mounts.firstIndex(where: { $0.destination == "/dev/shm" })
    {
      mounts[index] = Spec.Mount(
        destination: "/dev/shm", type: "bind", source: source,
        options: ["rbind", "rprivate", "nosuid", "nodev", "noexec"])
    } else if let shm = config.shmSize,
      let index = mounts.firstIndex(where: { $0.destination == "/dev/shm" })
    {
      mounts[index].options =
        (mounts[index].options ?? []).filter { !$0.hasPrefix("size=") } + [
          "size=\(shm)"
        ]
    }
    if config.privileged, let index = mounts.firstIndex(where: { $0.destination == "/sys" }) {
      mounts[index].options?.removeAll { $0 == "ro" }
    }
    for (file, destination) in [
      ("hosts", "/etc/hosts"), ("hostname", "/etc/hostname"), ("resolv.conf", "/etc/resolv.conf"),
      (".containerenv", "/run/.containerenv"),
    ] where !config.mounts.contains(where: { $0.destination == destination }) {
      mounts.append(
        Spec.Mount(
          destination: destination, type: "bind", source: "\(paths.userdata)/\(file)",
          options: ["rbind", "rprivate", destination == "/run/.containerenv" ? "ro" : "rw"]))
    }
    if config.readOnly && config.readOnlyTmpfs {
      for destination in ["/tmp", "/var/tmp", "/run"]
      where !config.mounts.contains(where: { $0.destination == destination }) {
        mounts.append(
          Spec.Mount(
            destination: destination, type: "tmpfs", source: "tmpfs",
            options: ["rw", "nosuid", "nodev", "mode=1777"]))
      }
    }
    for request in config.mounts {
      mounts.append(try mount(request, volumes: paths.volumes))
    }
    if config.initProcess, let initBinary = paths.initBinary {
      mounts.append(
        Spec.Mount(
          destination: "/run/berth-init", type: "bind", source: initBinary,
          options: ["bind", "ro", "nosuid", "nodev"]))
    }
    // Parents before children (a volume on /etc, then /etc/hosts on it), as
    // podman orders them; the sort is stable for equal depths.
    let extra = mounts[defaultCount...].enumerated().sorted { a, b in
      let (da, db) = (
        a.element.destination.split(separator: "/").count,
        b.element.destination.split(separator: "/").count
      )
      return da != db ? da < db : a.offset < b.offset
    }.map(\.element)
    spec.mounts = Array(mounts[..<defaultCount]) + extra

    var linux = spec.linux ?? Spec.Linux()
    var namespaces = linux.namespaces ?? []
    func setNamespace(_ type: String, mode: String?) throws(BerthError) {
      guard let mode else { return }
      namespaces.removeAll { $0.type == type }
      switch mode {
      case "host": break
      case "private", "", "shareable", "none": namespaces.append(Spec.Namespace(type: type))
      default:
        if let path = joinNamespaces[mode] {
          namespaces.append(Spec.Namespace(type: type, path: path))
        } else if mode.hasPrefix("ns:") {
          namespaces.append(Spec.Namespace(type: type, path: String(mode.dropFirst(3))))
        } else {
          throw BerthError(.invalidArgument, "invalid \(type) namespace mode \"\(mode)\"")
        }
      }
    }
    // Rootless bridge networks too: the monitor makes the namespace.
    let monitorNetwork =
      config.sharesMonitorNetwork || paths.rootless && config.network == "bridge"
    try setNamespace(
      "network",
      mode: monitorNetwork ? "host" : config.network == "none" ? "private" : config.network)
    try setNamespace("pid", mode: config.pidMode)
    try setNamespace("ipc", mode: config.ipcMode)
    try setNamespace("uts", mode: config.utsMode)
    if config.cgroupns == "host" { namespaces.removeAll { $0.type == "cgroup" } }
    if config.network == "host" {
      // Podman binds the host's /sys for a host-network container.
      spec.mounts = (spec.mounts ?? []).map { mount in
        guard mount.destination == "/sys" else { return mount }
        return Spec.Mount(
          destination: "/sys", type: "bind", source: "/sys",
          options: ["rbind", "nosuid", "noexec", "nodev", config.privileged ? "rw" : "ro"])
      }
    }
    if config.utsMode == "host" { spec.hostname = nil }
    if let maps = config.idMaps {
      // Its own user namespace (nested in the monitor's, rootless).
      namespaces.append(Spec.Namespace(type: "user"))
      linux.uidMappings = maps.uid
      linux.gidMappings = maps.gid
    }
    linux.namespaces = namespaces
    linux.cgroupsPath = paths.cgroupsPath

    if config.privileged {
      linux.maskedPaths = nil
      linux.readonlyPaths = nil
    } else {
      linux.maskedPaths =
        (linux.maskedPaths ?? []) + [
          "/proc/interrupts", "/sys/devices/virtual/powercap", "/proc/sys/kernel/sched_domain",
        ]
      linux.maskedPaths =
        (linux.maskedPaths ?? []).filter { !config.unmask.contains($0) }
        + config.mask
      if config.unmask.contains("ALL") { linux.maskedPaths = config.mask }
      linux.readonlyPaths = (linux.readonlyPaths ?? []).filter { !config.unmask.contains($0) }
    }
    var sysctls = config.sysctls
    // Podman's default (containers.conf default_sysctls): ping works without
    // CAP_NET_RAW, through ICMP datagram sockets, in the container's own
    // network namespace.
    // In its own user namespace a container may write only the sysctls of
    // a network namespace made with it (--network none), not the engine's.
    if config.network != "host" && !monitorNetwork
      && !config.network.hasPrefix("container:")
      && (config.idMaps == nil || config.network == "none")
      && sysctls["net.ipv4.ping_group_range"] == nil
    {
      sysctls["net.ipv4.ping_group_range"] = "0 0"
    }
    if !sysctls.isEmpty { linux.sysctl = sysctls }

    if !paths.rootless {
      var resources = linux.resources ?? Spec.Resources()
      if config.privileged {
        resources.devices = [Spec.Resources.DeviceRule(allow: true, access: "rwm")]
      }
      if config.memory != nil || config.memorySwap != nil {
        var memory = Spec.Resources.Memory()
        memory.limit = config.memory
        memory.swap = config.memorySwap
        resources.memory = memory
      }
      if config.cpus != nil || config.cpuShares != nil || config.cpusetCpus != nil {
        var cpu = Spec.Resources.CPU()
        if let cpus = config.cpus {
          cpu.period = 100_000
          cpu.quota = Int64(cpus * 100_000)
        }
        cpu.shares = config.cpuShares
        cpu.cpus = config.cpusetCpus
        resources.cpu = cpu
      }
      if let limit = config.pidsLimit { resources.pids = Spec.Resources.Pids(limit: limit) }
      var devices = linux.devices ?? []
      for text in config.devices {
        let (device, rule) = try Self.device(text)
        devices.append(device)
        resources.devices = (resources.devices ?? []) + [rule]
      }
      if !devices.isEmpty { linux.devices = devices }
      linux.resources = resources
    } else if config.memory != nil || config.cpus != nil || config.pidsLimit != nil {
      throw BerthError(
        .unsupported, "resource limits need root here",
        hint: "rootless limits need a delegated cgroup v2 tree")
    }

    if !config.privileged && config.seccompProfile != "unconfined" {
      if let file = config.seccompProfile {
        let bytes = try readFile(file, limit: 4 << 20)
        do {
          linux.seccomp = try JSONDecoder().decode(Spec.Seccomp.self, from: Data(bytes))
        } catch {
          throw BerthError(.invalidArgument, "cannot read seccomp profile \(file): \(error)")
        }
      } else {
        linux.seccomp = DefaultSeccompProfile.profile(capabilities: caps)
      }
    }
    spec.linux = linux
    var annotations = config.annotations
    annotations["org.opencontainers.image.stopSignal"] = config.stopSignal ?? image.stopSignal
    spec.annotations = annotations.isEmpty ? nil : annotations.compactMapValues { $0 }
    return spec
  }

  static func mount(_ request: MountRequest, volumes: [String: String]) throws(BerthError)
    -> Spec.Mount
  {
    let access = request.readOnly ? "ro" : "rw"
    switch request.kind {
    case .tmpfs:
      return Spec.Mount(
        destination: request.destination, type: "tmpfs", source: "tmpfs",
        options: ["rw", "nosuid", "nodev"] + request.options)
    case .bind:
      return Spec.Mount(
        destination: request.destination, type: "bind", source: request.source,
        options: ["rbind", "rprivate", access] + request.options)
    case .volume:
      guard let source = volumes[request.destination] else {
        throw BerthError(.internalError, "no volume prepared for \(request.destination)")
      }
      // A volume mounted read-only on the host (`o=bind,ro`) stays so: the
      // runtime's remount for nosuid would otherwise make it writable.
      let volumeAccess = mountFlags(ofPath: source) & UInt(MS_RDONLY) != 0 ? "ro" : access
      return Spec.Mount(
        destination: request.destination, type: "bind", source: source,
        options: ["rbind", "rprivate", volumeAccess, "nodev", "nosuid"] + request.options)
    }
  }

  /// `--ulimit type=soft[:hard]`, type as docker names it (nofile, nproc...).
  public static func parseUlimit(_ text: String) throws(BerthError) -> Spec.Rlimit {
    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
    let values = parts.count == 2 ? parts[1].split(separator: ":").map(String.init) : []
    func value(_ text: String) -> UInt64? { text == "-1" ? UInt64.max : UInt64(text) }
    guard parts.count == 2, !values.isEmpty, values.count <= 2, let soft = value(values[0]),
      let hard = values.count == 2 ? value(values[1]) : soft, soft <= hard
    else {
      throw BerthError(
        .invalidArgument, "invalid --ulimit \"\(text)\"", hint: "use e.g. nofile=1024:2048")
    }
    return Spec.Rlimit(type: "RLIMIT_" + parts[0].uppercased(), hard: hard, soft: soft)
  }

  /// `--device HOST[:CONTAINER][:PERMISSIONS]`.
  static func device(_ text: String) throws(BerthError) -> (
    Spec.Device, Spec.Resources.DeviceRule
  ) {
    let parts = text.split(separator: ":").map(String.init)
    guard let host = parts.first, host.hasPrefix("/") else {
      throw BerthError(
        .invalidArgument, "invalid --device \"\(text)\"", hint: "use /dev/NAME[:/dev/NAME][:rwm]")
    }
    var st = stat()
    guard stat(host, &st) == 0 else { throw .system("device \(host)", currentErrno) }
    let kind: String
    switch st.st_mode & S_IFMT {
    case S_IFCHR: kind = "c"
    case S_IFBLK: kind = "b"
    default: throw BerthError(.invalidArgument, "\(host) is not a device")
    }
    let destination = parts.count > 1 && parts[1].hasPrefix("/") ? parts[1] : host
    let access = parts.count > 1 && !parts.last!.hasPrefix("/") ? parts.last! : "rwm"
    // glibc's major()/minor() are macros Swift cannot call.
    let rdev = UInt64(st.st_rdev)
    let major = Int64(((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~UInt64(0xfff)))
    let minor = Int64((rdev & 0xff) | ((rdev >> 12) & ~UInt64(0xff)))
    let device = Spec.Device(
      type: kind, path: destination, major: major, minor: minor,
      fileMode: UInt32(st.st_mode & 0o7777),
      uid: 0, gid: 0)
    return (
      device,
      Spec.Resources.DeviceRule(allow: true, type: kind, major: major, minor: minor, access: access)
    )
  }

  /// A group of the image by name, through the image's /etc/group as
  /// `resolveUser` reads it.
  static func groupID(_ name: String, rootfs: String) -> UInt32? {
    (try? ContentStore.resolveUser("0:" + name, rootfs: rootfs))?.gid
  }
}
