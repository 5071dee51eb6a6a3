// `--userns`, `--uidmap` and `--gidmap`, resolved at create into the maps
// of the container's own user namespace, as podman does:
//   keep-id[:uid=U,gid=G]  rootless: your uid as U (default your own), the
//                          subordinate ids around it; as root, the identity
//   nomap                  rootless: only the subordinate ids, not yours
//   auto[:size=N]          N ids (65536 as root, 1024 rootless) no other
//                          auto container has, from /etc/subuid's
//                          "containers" entries as root, from your
//                          subordinate ids rootless
//   --uidmap C:H:S         explicit; --gidmap defaults to the same
// The outside ids are the store's: the host's as root, and rootless, the
// monitor's user namespace (0 = you, 1... = your subordinate ids), where
// the container's namespace nests.
import BerthImage
import BerthOCI
import BerthSystem
import GRDB
import Glibc

extension Engine {
  /// The maps for `config`, or nil for the host's (or, rootless, the
  /// monitor's) namespace. Auto ranges are chosen under `autoLock`, which
  /// the caller holds until the container is recorded.
  func resolveIDMaps(_ config: ContainerConfig) throws(BerthError) -> IDMaps? {
    let mode = config.userns ?? ""
    let uidFlags = config.uidMap ?? []
    let gidFlags = config.gidMap ?? []
    if !uidFlags.isEmpty || !gidFlags.isEmpty {
      guard mode.isEmpty || mode == "host" else {
        throw BerthError(
          .invalidArgument, "--userns and --uidmap/--gidmap cannot be used together",
          hint: "give either a --userns mode or explicit maps")
      }
      let uid = uidFlags.isEmpty ? gidFlags : uidFlags
      let gid = gidFlags.isEmpty ? uidFlags : gidFlags
      if rootless {
        let (uids, gids) = try RootlessIDs.namespaceSize()
        for (maps, limit, flag) in [(uid, uids, "--uidmap"), (gid, gids, "--gidmap")] {
          for mapping in maps
          where UInt64(mapping.hostID) + UInt64(mapping.size) > UInt64(limit) + 1 {
            throw BerthError(
              .invalidArgument,
              "\(flag) \(IDMaps.describe([mapping])[0]) goes beyond your user namespace (0-\(limit))",
              hint:
                "rootless, host ids count in your namespace: 0 is you, 1-\(limit) your subordinate ids"
            )
          }
        }
      }
      return IDMaps(uid: uid, gid: gid)
    }
    let (name, options) = Self.splitMode(mode)
    switch name {
    case "", "host":
      guard options.isEmpty else { throw badMode(mode) }
      return nil
    case "keep-id":
      guard rootless else {
        // Root's own ids are the identity: podman makes a namespace of it.
        guard options.isEmpty else {
          throw BerthError(
            .unsupported, "--userns keep-id takes uid= and gid= only rootless",
            hint: "as root, use --uidmap")
        }
        let all = [IDMapping(containerID: 0, hostID: 0, size: UInt32.max)]
        return IDMaps(uid: all, gid: all)
      }
      var uid = getuid()
      var gid = getgid()
      for (key, value) in options {
        guard let number = UInt32(value), key == "uid" || key == "gid" else { throw badMode(mode) }
        if key == "uid" { uid = number } else { gid = number }
      }
      let (uids, gids) = try RootlessIDs.namespaceSize()
      return IDMaps(uid: Self.keepID(uid, size: uids), gid: Self.keepID(gid, size: gids))
    case "nomap":
      guard rootless else {
        throw BerthError(
          .unsupported, "--userns nomap is only for rootless containers",
          hint: "as root, use --userns auto or --uidmap")
      }
      guard options.isEmpty else { throw badMode(mode) }
      let (uids, gids) = try RootlessIDs.namespaceSize()
      return IDMaps(
        uid: [IDMapping(containerID: 0, hostID: 1, size: uids)],
        gid: [IDMapping(containerID: 0, hostID: 1, size: gids)])
    case "auto":
      var size: UInt32 = rootless ? 1024 : 65536
      for (key, value) in options {
        guard key == "size", let number = UInt32(value), number > 0 else { throw badMode(mode) }
        size = number
      }
      let start = try allocateAutoRange(size: size)
      let range = [IDMapping(containerID: 0, hostID: start, size: size)]
      return IDMaps(uid: range, gid: range)
    default:
      throw badMode(mode)
    }
  }

  func badMode(_ mode: String) -> BerthError {
    BerthError(
      .invalidArgument, "invalid --userns \"\(mode)\"",
      hint: "use host, keep-id[:uid=U,gid=G], nomap or auto[:size=N]")
  }

  static func splitMode(_ mode: String) -> (String, [(String, String)]) {
    guard let colon = mode.firstIndex(of: ":") else { return (mode, []) }
    let options = mode[mode.index(after: colon)...].split(separator: ",").map { option in
      let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
      return (parts[0], parts.count == 2 ? parts[1] : "")
    }
    return (String(mode[..<colon]), options)
  }

  /// `id` inside as the namespace's 0 (you); below it the subordinate ids
  /// 1...id, above it the rest of them at their own numbers.
  static func keepID(_ id: UInt32, size: UInt32) -> [IDMapping] {
    var maps: [IDMapping] = []
    if id > 0 { maps.append(IDMapping(containerID: 0, hostID: 1, size: min(id, size))) }
    maps.append(IDMapping(containerID: id, hostID: 0, size: 1))
    if size > id { maps.append(IDMapping(containerID: id + 1, hostID: id + 1, size: size - id)) }
    return maps
  }

  /// The first `size` ids of the pool that no other auto container holds.
  /// The caller holds the auto lock until its container is recorded.
  func allocateAutoRange(size: UInt32) throws(BerthError) -> UInt32 {
    let pool: [SubordinateIDs]
    if rootless {
      let (uids, gids) = try RootlessIDs.namespaceSize()
      pool = [SubordinateIDs(start: 1, count: min(uids, gids))]
    } else {
      let text = (try? readFile("/etc/subuid")).map { String(decoding: $0, as: UTF8.self) } ?? ""
      pool = BerthImage.UserNamespace.ranges(in: text, user: "containers")
      guard !pool.isEmpty else {
        throw BerthError(
          .notFound, "--userns auto needs ranges for the user \"containers\" in /etc/subuid",
          hint: "add a line such as containers:2147483647:2147483648 to /etc/subuid and /etc/subgid"
        )
      }
    }
    var taken: [(UInt64, UInt64)] = []
    let all = try database.read { db in try Container.all(db) }
    for container in all {
      guard let config = try? container.decodedConfig(), config.userns?.hasPrefix("auto") == true,
        let maps = config.idMaps
      else { continue }
      for mapping in maps.uid {
        taken.append((UInt64(mapping.hostID), UInt64(mapping.hostID) + UInt64(mapping.size)))
      }
    }
    taken.sort { $0.0 < $1.0 }
    for range in pool {
      var candidate = UInt64(range.start)
      let end = UInt64(range.start) + UInt64(range.count)
      for (start, stop) in taken where stop > candidate && start < candidate + UInt64(size) {
        candidate = max(candidate, stop)
      }
      if candidate + UInt64(size) <= end { return UInt32(candidate) }
    }
    throw BerthError(
      .invalidState, "no free range of \(size) ids is left for --userns auto",
      hint:
        "remove containers that use --userns auto, or give \"containers\" more ids in /etc/subuid")
  }

  /// Serialises auto range choices between `berth` processes.
  func autoRangeLock() throws(BerthError) -> ObjectLock {
    try ObjectLock(root + "/userns-auto.lock", what: "the --userns auto ranges")
  }
}

extension Engine {
  // Root of a user namespace is nobody to the host, so it could not reach
  // its rootfs or the files bound into it through the store's 0700
  // directories.

  /// Rootless, the directories above the store are yours to open up, not
  /// berth's: unless the namespace maps you (keep-id), its root must pass
  /// them. Checked before anything is created.
  func checkMappedRootCanReachStore(_ maps: IDMaps) throws(BerthError) {
    guard rootless && IDMaps.inside(0, in: maps.uid) == nil else { return }
    var path = parentPath(root)
    while path != "/" && !path.isEmpty {
      var info = stat()
      if stat(path, &info) == 0 && info.st_mode & 0o001 == 0 {
        throw BerthError(
          .permissionDenied,
          "the container's root cannot pass \(path) on the way to its rootfs under \(root)",
          hint: "chmod o+x \(path) (others may then pass it, not list it), or use --userns keep-id")
      }
      path = parentPath(path)
    }
  }

  /// The store's directories on the way to the container's rootfs and
  /// userdata become 0711, as podman's do: passable, not listable (the
  /// names below are random ids). Once, at create.
  func openStoreToMappedRoot(_ id: String, snapshot: Snapshot) throws(BerthError) {
    for directory in [
      store.root, parentPath(snapshot.directory), snapshot.directory, root,
      parentPath(containerDirectory(id)), containerDirectory(id),
      containerDirectory(id) + "/userdata",
    ] {
      try makePassable(directory)
    }
  }

  /// An empty volume's top directory, still the host root's, goes to the
  /// container's root, with the volume's directories made passable. At
  /// start, after the volume is filled. Rootless the CLI cannot give a
  /// directory away: an empty volume stays yours.
  func giveEmptyVolumesToMappedRoot(_ maps: IDMaps, volumes: [String: String])
    throws(BerthError)
  {
    guard !rootless, let uid = IDMaps.outside(0, in: maps.uid),
      let gid = IDMaps.outside(0, in: maps.gid)
    else { return }
    for path in volumes.values {
      var info = stat()
      guard stat(path, &info) == 0, info.st_uid == 0, info.st_gid == 0,
        (try? directoryEntries(path))?.isEmpty == true
      else { continue }
      try check("give the volume \(path) to the container's root") { chown(path, uid, gid) }
      try makePassable(parentPath(path))
      try makePassable(parentPath(parentPath(path)))
    }
  }

  func makePassable(_ directory: String) throws(BerthError) {
    var info = stat()
    guard stat(directory, &info) == 0, info.st_mode & 0o011 != 0o011 else { return }
    try check("make \(directory) passable") { chmod(directory, (info.st_mode & 0o7777) | 0o011) }
  }
}

extension RootlessIDs {
  /// How many subordinate uids and gids the rootless namespace has (its
  /// ids 1...count).
  static func namespaceSize() throws(BerthError) -> (UInt32, UInt32) {
    let maps = try mappings()
    return (maps.uid.last?.size ?? 0, maps.gid.last?.size ?? 0)
  }
}
