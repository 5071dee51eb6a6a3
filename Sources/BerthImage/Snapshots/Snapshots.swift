// Container root filesystems as overlay snapshots of an image: the image's
// unpacked layers are the read-only lower directories (shared by every
// container of every image that has them), and each container gets its own
// upper and work directories.
import BerthOCI
import BerthSystem
import Foundation
import Glibc
import SystemPackage

/// How a snapshot is mounted.
public enum OverlayDriver: String, Sendable, CaseIterable {
  /// Kernel overlayfs, falling back to fuse-overlayfs when the kernel
  /// refuses the mount (rootless without a user namespace, old kernels).
  case auto
  case kernel
  case fuse
}

public struct Snapshot: Sendable {
  public var id: String
  public var directory: String
  /// Lower directories, topmost first, as overlayfs's lowerdir lists them.
  public var lowerDirectories: [String]
  /// The user namespace's maps its layers were copied with, if any.
  public var maps: IDMaps?
  /// A bottom layer under the image's holding the files the engine
  /// bind-mounts over (see `ContentStore.mountPointBase`); nil with maps.
  public var mountPointBase: String?
  public var upper: String { directory + "/upper" }
  public var work: String { directory + "/work" }
  /// Where the root filesystem is mounted: the OCI bundle's `root.path`.
  public var merged: String { directory + "/merged" }

  /// The overlay mount options for this snapshot. `volatile` (a container
  /// removed when it exits, as podman mounts `--rm` containers) spares the
  /// sync of the upper filesystem at unmount: its upper directory is thrown
  /// away anyway, and overlayfs refuses to mount it again.
  public func overlayOptions(rootless: Bool, readOnly: Bool = false, volatile: Bool = false)
    -> String
  {
    var lowers = lowerDirectories
    if let mountPointBase, !readOnly { lowers.append(mountPointBase) }
    var options = "lowerdir=" + lowers.joined(separator: ":")
    if !readOnly { options += ",upperdir=\(upper),workdir=\(work)" }
    if volatile && !readOnly { options += ",volatile" }
    // Rootless overlay (in a user namespace) keeps its metadata in user.*
    // xattrs, matching how layers were unpacked rootless.
    if rootless { options += ",userxattr" }
    return options
  }
}

extension ContentStore {
  public func snapshotDirectory(_ id: String) -> String { "\(root)/snapshots/\(id)" }

  /// Files the engine bind-mounts into every container.
  public static let engineMountPoints: Set<String> = [
    "etc/hosts", "etc/hostname", "etc/resolv.conf", "run/.containerenv",
  ]

  /// A directory of empty `engineMountPoints`, made once per store, that
  /// snapshots put under the image's layers: a bind mount needs its target
  /// to exist, and an image without one had it made in the container's
  /// upper directory at every start (/etc and /run copied up, five inodes
  /// made and later deleted). At the bottom, any file or whiteout of the
  /// image still wins. Nil when it cannot be made (the targets are then
  /// made in the upper directory, as before).
  public func mountPointBase() -> String? {
    let base = root + "/snapshot-base"
    if access(base, F_OK) == 0 { return base }
    let staging = root + "/.snapshot-base-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    do {
      try Sys.check("create \(staging)") { mkdir(staging, 0o755) }
      for path in Self.engineMountPoints.sorted() {
        try mkdirAll(parentPath(staging + "/" + path), mode: 0o755)
        try Sys.writeFileAtomically(staging + "/" + path, [], durable: false)
      }
      // Another process may have made it meanwhile: theirs stands.
      if rename(staging, base) != 0 { try? Sys.removeTree(staging) }
    } catch {
      try? Sys.removeTree(staging)
    }
    return access(base, F_OK) == 0 ? base : nil
  }

  /// Creates the directories of a container snapshot of `image` (not yet
  /// mounted) and records which image it uses, so `rmi` keeps the image.
  /// With `maps` (a container in its own user namespace) the lower layers
  /// are copies owned as the maps say, and the upper directory belongs to
  /// the container's root (rootless, the monitor gives it, in its namespace).
  ///
  /// With `spare`, the directories come from a finished `--rm` container
  /// when one waits in `spareSnapshotsDirectory` (see there).
  public func createSnapshot(
    id: String, image: ImageRecord, maps: IDMaps? = nil, spare: Bool = false
  ) throws -> Snapshot {
    guard !id.isEmpty,
      id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }),
      !id.hasPrefix(".")
    else {
      throw BerthError(
        .invalidArgument, "invalid snapshot id \"\(id)\"", hint: "use [A-Za-z0-9_.-]")
    }
    let maps = maps?.isIdentity == true ? nil : maps
    let lowers = Array(
      try (maps.map { try mappedLayerPaths(of: image, maps: $0) } ?? layerPaths(of: image))
        .reversed())
    guard !lowers.isEmpty else {
      throw BerthError(.invalidArgument, "image \(image.id.short) has no layers")
    }
    for path in lowers where path.contains(",") || path.contains(":") {
      throw BerthError(
        .unsupported, "storage path \(path) contains ',' or ':' which overlay options cannot carry",
        hint: "use a --root without those characters")
    }
    let directory = snapshotDirectory(id)
    if spare && maps == nil, takeSpareSnapshot(as: directory) {
      do {
        // In place: the directory belongs to no container record yet.
        try Sys.writeFileInPlace(directory + "/image", Array(image.id.description.utf8))
        return Snapshot(
          id: id, directory: directory, lowerDirectories: lowers, maps: nil,
          mountPointBase: mountPointBase())
      } catch {
        try? Sys.removeTree(directory)
        throw error
      }
    }
    markTopDirectory(root + "/snapshots")
    if let error = Sys.attempt({ mkdir(directory, 0o700) }) {
      throw BerthError.system(
        "create snapshot \(id)", error,
        hint: error == .fileExists ? "a snapshot with this id exists; remove it first" : nil)
    }
    do {
      for sub in ["upper", "work", "merged"] {
        try Sys.check("create \(directory)/\(sub)") { mkdir("\(directory)/\(sub)", 0o755) }
      }
      // Not fsynced: it is on every container's create path, and a snapshot
      // that loses it in a crash belongs to no committed container record.
      try Sys.writeFileAtomically(
        directory + "/image", Array(image.id.description.utf8), durable: false)
      if let maps {
        try Sys.writeFileAtomically(
          directory + "/idmaps", Array(try JSONEncoder().encode(maps)), durable: false)
        if !rootless, let uid = IDMaps.outside(0, in: maps.uid),
          let gid = IDMaps.outside(0, in: maps.gid)
        {
          try Sys.check("give \(directory)/upper to the container's root") {
            chown(directory + "/upper", uid, gid)
          }
        }
      }
    } catch {
      try? Sys.removeTree(directory)
      throw error
    }
    return Snapshot(
      id: id, directory: directory, lowerDirectories: lowers, maps: maps,
      mountPointBase: maps == nil ? mountPointBase() : nil)
  }

  /// Where the directories of finished `--rm` containers wait to be the
  /// next `--rm` container's (their monitor renames a snapshot here when its
  /// upper directory is empty and its overlay unmounted cleanly, keeping at
  /// most `maximumSpareSnapshots`). Each snapshot made its directory, upper,
  /// work and merged, the image file and overlay's work/work/incompat, and
  /// its monitor deleted them all: on ext4 without a journal (this CI's), an
  /// inode is only allocated past every one freed in the last 30 seconds,
  /// and a burst of runs spent milliseconds each looking past them.
  ///
  /// Mounting an overlay makes seven inodes in its work directory and
  /// deletes them (work/work, its probes of tmpfile, xattr and whiteout
  /// support, the volatile mark): those land in the block group of the work
  /// directory. So spares are taken at random from at least
  /// `minimumSpareSnapshots`, each in a block group of its own (the
  /// snapshots directory is a top directory, `markTopDirectory`), and each
  /// group sees an eighth of the runs' deletions.
  public var spareSnapshotsDirectory: String { root + "/snapshot-spares" }
  public static let minimumSpareSnapshots = 8
  public static let maximumSpareSnapshots = 16

  /// Renames a spare snapshot's directory to `directory`; false when too
  /// few wait (or another process took the ones listed).
  func takeSpareSnapshot(as directory: String) -> Bool {
    let spares = spareSnapshotsDirectory
    var names = listDirectory(spares)
    guard names.count >= Self.minimumSpareSnapshots else { return false }
    names.shuffle()
    return names.contains { rename(spares + "/" + $0, directory) == 0 }
  }

  /// The snapshot `id`, recomputing its lower directories from its image.
  public func snapshot(id: String) throws -> Snapshot {
    let directory = snapshotDirectory(id)
    let bytes = try Sys.readFile(directory + "/image")
    let image = try resolveImage(String(decoding: bytes, as: UTF8.self))
    let maps = try (try? Sys.readFile(directory + "/idmaps")).map {
      try JSONDecoder().decode(IDMaps.self, from: Data($0))
    }
    let lowers = try maps.map { try mappedLayerPaths(of: image, maps: $0) } ?? layerPaths(of: image)
    return Snapshot(
      id: id, directory: directory, lowerDirectories: Array(lowers.reversed()), maps: maps,
      mountPointBase: maps == nil ? mountPointBase() : nil)
  }

  /// Mounts the snapshot's overlay on `merged` and returns that path.
  /// A single-layer read-only snapshot is a read-only bind mount, since
  /// overlayfs needs two lower directories when it has no upper one.
  @discardableResult
  public func mountSnapshot(
    _ snapshot: Snapshot, readOnly: Bool = false, volatile: Bool = false,
    driver: OverlayDriver = .auto
  ) throws -> String {
    if readOnly && snapshot.lowerDirectories.count == 1 && driver != .fuse {
      try Sys.check("bind-mount \(snapshot.lowerDirectories[0]) on \(snapshot.merged)") {
        mount(snapshot.lowerDirectories[0], snapshot.merged, nil, UInt(MS_BIND), nil)
      }
      try Sys.check("make \(snapshot.merged) read-only") {
        mount(nil, snapshot.merged, nil, UInt(MS_BIND | MS_REMOUNT | MS_RDONLY), nil)
      }
      return snapshot.merged
    }
    if driver == .fuse { return try fuseMount(snapshot, readOnly: readOnly) }
    // A volatile mount leaves this mark, and overlayfs refuses the next
    // mount while it is there. A container mounted volatile is thrown away
    // after its run; if it is started again (its first start failed), its
    // upper directory is still the one this boot unmounted cleanly.
    if volatile { try? Sys.removeTree(snapshot.work + "/work/incompat/volatile") }
    let options = snapshot.overlayOptions(
      rootless: rootless, readOnly: readOnly, volatile: volatile)
    guard options.utf8.count < 4000 else {
      throw BerthError(
        .unsupported, "snapshot \(snapshot.id): too many layers for one overlay mount option string"
      )
    }
    let error = Sys.attempt {
      mount("overlay", snapshot.merged, "overlay", UInt(readOnly ? MS_RDONLY : 0), options)
    }
    guard let error else { return snapshot.merged }
    if driver == .auto && (error == .notPermitted || error == .permissionDenied)
      && Self.fuseOverlayfs != nil
    {
      return try fuseMount(snapshot, readOnly: readOnly)
    }
    throw BerthError.system(
      "mount overlay for snapshot \(snapshot.id) on \(snapshot.merged)", error,
      hint: rootless
        ? "rootless overlay needs a user namespace with mount rights, or fuse-overlayfs" : nil)
  }

  /// fuse-overlayfs from PATH, if installed.
  static var fuseOverlayfs: String? {
    let path = Environment.get("PATH") ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") where access("\(dir)/fuse-overlayfs", X_OK) == 0 {
      return "\(dir)/fuse-overlayfs"
    }
    return nil
  }

  /// Mounts with fuse-overlayfs, which daemonises once the mount is up. It
  /// reads the same 0:0 whiteout devices and opaque xattrs as the kernel.
  private func fuseMount(_ snapshot: Snapshot, readOnly: Bool) throws -> String {
    guard let binary = Self.fuseOverlayfs else {
      throw BerthError(
        .unsupported, "fuse-overlayfs is not installed",
        hint: "install Debian's fuse-overlayfs, or mount with kernel overlay")
    }
    let options = snapshot.overlayOptions(rootless: false, readOnly: readOnly)
    // The daemon it leaves behind must hold none of our pipes, or a reader
    // of them would wait forever: its output goes to a file.
    let log = "\(snapshot.directory)/fuse-overlayfs.log"
    let status = try Spawn.run([binary, "-o", options, snapshot.merged], log: log)
    guard status == 0 else {
      let text = (try? Sys.readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
      throw BerthError(
        .system,
        "fuse-overlayfs could not mount snapshot \(snapshot.id): "
          + text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return snapshot.merged
  }

  /// Unmounts the snapshot if mounted (lazily, so a busy mount still goes).
  public func unmountSnapshot(id: String) throws {
    let merged = snapshotDirectory(id) + "/merged"
    // Not a mount point here (never mounted, or mounted only in a rootless
    // monitor's namespace): nothing to undo, and umount2 would be refused.
    if !BerthSystem.isMountPoint(merged) { return }
    guard let error = Sys.attempt({ umount2(merged, Int32(MNT_DETACH)) }) else { return }
    if error == .invalidArgument || error == .noSuchFileOrDirectory { return }
    // A rootless fuse-overlayfs mount is undone by fusermount3.
    if error == .notPermitted || error == .permissionDenied {
      let log = snapshotDirectory(id) + "/fuse-overlayfs.log"
      for dir in ["/usr/bin", "/bin"] where access("\(dir)/fusermount3", X_OK) == 0 {
        if (try? Spawn.run(["\(dir)/fusermount3", "-u", "-z", merged], log: log)) == 0 { return }
      }
    }
    throw BerthError.system("unmount \(merged)", error)
  }

  /// Unmounts and deletes a snapshot and its upper directory.
  public func removeSnapshot(id: String) throws {
    try unmountSnapshot(id: id)
    try removeOwnedTree(snapshotDirectory(id))
  }

  /// Ids of existing snapshots.
  public func snapshots() throws -> [String] {
    try Sys.listDirectory(root + "/snapshots").filter { !$0.hasPrefix(".") }
  }
}
