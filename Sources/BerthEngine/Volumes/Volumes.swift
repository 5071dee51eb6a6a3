// Named volumes (podman's local driver): a directory under the storage
// root, created on first use and filled from the image's content at the
// mount point the first time it is mounted (docker's rule; `nocopy` skips
// it). `o=`, `type=` and `device=` options mount a filesystem instead.
import BerthImage
import BerthMonitor
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc

public enum VolumeNames {
  public static func validate(_ name: String) throws(BerthError) {
    guard name.count <= 255, ContainerNames.isValid(name)
    else {
      throw BerthError(
        .invalidArgument, "invalid volume name \"\(name)\"",
        hint: "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    }
  }
}

extension Engine {
  func volumeDirectory(_ name: String) -> String { root + "/volumes/" + name }

  public func createVolume(
    name: String?, driver: String, labels: [String: String], options: [String: String],
    anonymous: Bool = false, ignoreExisting: Bool = false
  ) throws(BerthError) -> Volume {
    let name = name ?? ContainerNames.randomID()
    try VolumeNames.validate(name)
    guard driver == "local" else {
      throw BerthError(
        .unsupported, "volume driver \"\(driver)\" is not supported", hint: "use local")
    }
    for key in options.keys where !["o", "type", "device", "uid", "gid", "nocopy"].contains(key) {
      throw BerthError(
        .invalidArgument, "invalid volume option \"\(key)\"",
        hint: "the local driver takes o, type, device")
    }
    if let existing = try volumeOptional(name) {
      if ignoreExisting { return existing }
      throw BerthError(.alreadyExists, "volume with name \(name) already exists")
    }
    let directory = volumeDirectory(name)
    let volume = Volume(
      name: name, driver: driver, mountpoint: directory + "/_data", created: rfc3339Now(),
      labels: (try? JSONEncoder().encode(labels)) ?? Data("{}".utf8),
      options: (try? JSONEncoder().encode(options)) ?? Data("{}".utf8), anonymous: anonymous)
    try mkdirAll(directory + "/_data", mode: 0o755)
    do {
      try database.write { db in
        try volume.insert(db)
        try EventLog.record(
          db, type: "volume", action: "create", id: name, name: name, attributes: [:])
      }
    } catch {
      try? removeTree(directory)
      if error.code == .alreadyExists {
        throw BerthError(.alreadyExists, "volume with name \(name) already exists")
      }
      throw error
    }
    return volume
  }

  func volumeOptional(_ name: String) throws(BerthError) -> Volume? {
    try database.read { db in try Volume.fetchOne(db, key: name) }
  }

  public func volume(_ name: String) throws(BerthError) -> Volume {
    guard let volume = try volumeOptional(name) else {
      throw BerthError(.notFound, "no volume with name \"\(name)\" found")
    }
    return volume
  }

  public func volumes() throws(BerthError) -> [Volume] {
    try database.read { db in try Volume.order(Column("name")).fetchAll(db) }
  }

  /// Names of the containers whose config mounts `name`.
  public func volumeUsers(_ name: String) throws(BerthError) -> [String] {
    try database.read { db in try Container.all(db) }.filter { container in
      (try? container.decodedConfig())?.mounts.contains { $0.kind == .volume && $0.source == name }
        == true
    }.map(\.name)
  }

  public func removeVolume(_ name: String, force: Bool) throws(BerthError) {
    let volume = try self.volume(name)
    let users = try volumeUsers(name)
    if !users.isEmpty {
      guard force else {
        throw BerthError(
          .invalidState,
          "volume \(name) is being used by container(s) \(users.joined(separator: ", "))",
          hint: "remove the containers first or use --force")
      }
      for user in users { _ = try removeContainer(user, force: true, volumes: false) }
    }
    // Taken after the users are gone (their removal may remove this volume
    // too, and a second flock of ours would wait on the first).
    let lock = try self.lock(volume: name)
    defer { withExtendedLifetime(lock) {} }
    // A start that mounted it meanwhile uses it now.
    if !force, case let users = try volumeUsers(name), !users.isEmpty {
      throw BerthError(
        .invalidState,
        "volume \(name) is being used by container(s) \(users.joined(separator: ", "))",
        hint: "remove the containers first or use --force")
    }
    guard try volumeOptional(name) != nil else { return }
    umount2(volume.mountpoint, Int32(MNT_DETACH))
    try database.write { db in
      _ = try Volume.deleteOne(db, key: name)
      try EventLog.record(
        db, type: "volume", action: "remove", id: name, name: name, attributes: [:])
    }
    try removeTree(volumeDirectory(name))
    // As a removed container's: the lock file goes with its volume.
    unlink(locksRoot + "/volume-" + name)
  }

  /// Removes volumes no container uses (of those `including` takes);
  /// returns their names.
  public func pruneVolumes(including: (Volume) -> Bool = { _ in true }) throws(BerthError)
    -> [String]
  {
    var removed: [String] = []
    for volume in try volumes() where including(volume) {
      guard try volumeUsers(volume.name).isEmpty else { continue }
      try removeVolume(volume.name, force: false)
      removed.append(volume.name)
    }
    return removed
  }

  /// Host paths of the container's volumes by destination; a new, empty
  /// volume gets the image's content at its mount point first.
  /// `rootfs` nil (rootless: the rootfs is mounted only in the monitor's
  /// namespace): new volumes start empty.
  /// Each named volume's path, mounted (device volumes) and, when new,
  /// filled from the image at `rootfs`; with no rootfs (rootless: the
  /// monitor mounts the overlay), the fills are returned for the monitor.
  func prepareVolumes(_ config: ContainerConfig, rootfs: String?) throws(BerthError) -> (
    paths: [String: String], fills: [VolumeFill]
  ) {
    var paths: [String: String] = [:]
    var fills: [VolumeFill] = []
    for mount in config.mounts where mount.kind == .volume {
      // Held while the volume is mounted and filled: a concurrent `volume
      // rm` waits, then sees the container using it.
      let lock = try self.lock(volume: mount.source)
      defer { withExtendedLifetime(lock) {} }
      let volume = try self.volume(mount.source)
      let options = volume.optionMap
      if let device = options["device"] {
        if !isMountPoint(volume.mountpoint) {
          try mountDevice(device, of: volume, options: options)
        }
      }
      let marker = volumeDirectory(volume.name) + "/.populated"
      paths[mount.destination] = volume.mountpoint
      guard !fileExists(marker) else { continue }
      let fill = VolumeFill(path: mount.destination, target: volume.mountpoint, marker: marker)
      if mount.noCopy || options["nocopy"] != nil {
        try writeFileAtomically(marker, [], mode: 0o600, durable: false)
      } else if let rootfs {
        try fill.perform(rootfs: rootfs)
      } else {
        fills.append(fill)
      }
    }
    return (paths, fills)
  }

  /// A local volume's `device` with its `type` and `o` as mount(8) reads
  /// them: flags are flags, the rest is data, and `o=bind` (compose's
  /// driver_opts for a host directory) is a bind mount, read-only when asked.
  func mountDevice(_ device: String, of volume: Volume, options: [String: String])
    throws(BerthError)
  {
    let parsed = MountOptions.parse((options["o"] ?? "").split(separator: ",").map(String.init))
    var flags = parsed.flags
    if parsed.isBind { flags |= UInt(MS_BIND) | (parsed.isRecursive ? UInt(MS_REC) : 0) }
    let hint = "check its device, type and o options (berth volume inspect \(volume.name))"
    try check("cannot mount volume \(volume.name) (device \(device))", hint: hint) {
      Glibc.mount(
        device, volume.mountpoint, parsed.isBind ? nil : options["type"] ?? "none", flags,
        parsed.dataString)
    }
    // A bind mount ignores MS_RDONLY until remounted.
    if parsed.isBind && parsed.flags & UInt(MS_RDONLY) != 0 {
      try check("cannot make volume \(volume.name) read-only", hint: hint) {
        Glibc.mount(
          nil, volume.mountpoint, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY), nil)
      }
    }
  }
}
