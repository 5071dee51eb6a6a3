// A container's files from the host: diff, export, commit, import and cp.
// Paths inside the rootfs are resolved by fd (openat2 RESOLVE_IN_ROOT), so
// a symlink in the container never leads a copy onto the host; archives
// coming in are unpacked through directory fds with O_NOFOLLOW.
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc
import SystemPackage

public enum ChangeKind: String, Sendable {
  case added = "A"
  case changed = "C"
  case deleted = "D"
}

/// One path in a container, as `lstat` sees it.
public struct PathStat: Sendable {
  public var name: String
  public var size: Int64
  /// st_mode: the file type and permission bits.
  public var mode: mode_t
  public var mtimeSeconds: Int64
  public var mtimeNanoseconds: Int
  /// A symlink's target as stored ("" for anything else).
  public var linkTarget: String

  public var isDirectory: Bool { (mode & S_IFMT) == S_IFDIR }
}

/// Files the engine bind-mounts into every container: their empty mount
/// points in the upper directory are not the container's changes.
public let engineMountPoints = ContentStore.engineMountPoints

extension Engine {
  /// Runs `body` with the container's rootfs mounted (mounting it for the
  /// duration when the container is not running).
  func withRootfs<T>(_ container: Container, _ body: (String, Snapshot) throws -> T) throws -> T {
    let snapshot = try store.snapshot(id: container.id)
    if container.state == .running || container.state == .paused, container.pid > 0 {
      // The container's own view, its volumes and tmpfs mounts included
      // (and, rootless, the overlay that only its namespace has).
      return try body("/proc/\(container.pid)/root", snapshot)
    }
    let lock = try self.lock(container: container.id)
    defer { withExtendedLifetime(lock) {} }
    let merged = try store.mountSnapshot(snapshot)
    defer { try? store.unmountSnapshot(id: container.id) }
    return try body(merged, snapshot)
  }

  /// `diff`: what the container changed, from its overlay upper directory.
  public func diff(_ reference: String) throws(BerthError) -> [(ChangeKind, String)] {
    let container = try refresh(try lookup(reference).id)
    do {
      let snapshot = try store.snapshot(id: container.id)
      var changes: [(ChangeKind, String)] = []
      // In each layer's own root, by fd: a symlinked directory in an image
      // layer must not make the lookup land on the host.
      let lowers = snapshot.lowerDirectories.compactMap { try? RootFS(path: $0) }
      func inLower(_ path: String) -> Bool { lowers.contains { $0.fileType(path) != nil } }
      /// Returns whether anything under `directory` counts as a change.
      @discardableResult
      func walk(_ directory: String, _ prefix: String) throws -> Bool {
        var any = false
        for name in try directoryEntries(directory).sorted() {
          let path = prefix + "/" + name
          if engineMountPoints.contains(String(path.dropFirst())) { continue }
          var st = stat()
          guard lstat(directory + "/" + name, &st) == 0 else { continue }
          any = true
          if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 {
            changes.append((.deleted, path))
            continue
          }
          let kind: ChangeKind = inLower(path) ? .changed : .added
          let index = changes.count
          changes.append((kind, path))
          if (st.st_mode & S_IFMT) == S_IFDIR {
            // A directory that only holds the engine's mount points is no change.
            if try !walk(directory + "/" + name, path) && kind == .changed {
              changes.remove(at: index)
            }
          }
        }
        return any
      }
      try walk(snapshot.upper, "")
      return changes
    } catch {
      throw BerthError.wrapping(error, "cannot compute the changes of \(container.name)")
    }
  }

  /// `export`: the container's whole filesystem as a tar on `fd`. A
  /// running one's root holds /proc, /sys, /dev and its volumes as other
  /// mounts: only their mount points go in, as docker's export has them.
  public func export(_ reference: String, to fd: Int32) throws(BerthError) {
    let container = try refresh(try lookup(reference).id)
    do {
      try withRootfs(container) { rootfs, _ in
        let status = try ChildProcess.run(
          [
            "tar", "--numeric-owner", "--xattrs", "--one-file-system", "--warning=no-file-changed",
            "-C", rootfs, "-cf", "-", ".",
          ], path: "/bin/tar",
          stdout: .fd(fd))
        // 1: a file changed while it was read (a running container's); the
        // archive is whole.
        guard status == 0 || status == 1 else {
          throw BerthError(.system, "tar of \(container.name)'s rootfs failed")
        }
      }
    } catch {
      throw BerthError.wrapping(error, "cannot export \(container.name)")
    }
  }

  /// `commit`: a new image of the container's image plus one layer of its
  /// changes (overlay whiteouts as OCI whiteouts), config edited by `changes`.
  public func commit(
    _ reference: String, name: String?, changes: [String], message: String?, author: String?
  ) throws(BerthError) -> ImageRecord {
    let container = try refresh(try lookup(reference).id)
    do {
      let parent = try store.resolveImage(container.imageID)
      let snapshot = try store.snapshot(id: container.id)
      return try store.withStagingPath("commit") { path in
        try LayerWriter.write(
          directory: snapshot.upper, to: path, overlayUpper: true, rootless: rootless,
          exclude: engineMountPoints, idMaps: snapshot.maps)
        return try addLayerImage(
          parent: parent, layerTar: path, name: name, changes: changes,
          history: ImageConfig.History(
            created: rfc3339Now(), createdBy: "berth commit \(container.name)"),
          message: message, author: author)
      }
    } catch {
      throw BerthError.wrapping(error, "cannot commit \(container.name)")
    }
  }

  /// `import`: a tarball of a root filesystem as a one-layer image.
  public func importImage(tarball: String, name: String?, changes: [String], message: String?)
    throws(BerthError) -> ImageRecord
  {
    do {
      return try addLayerImage(
        parent: nil, layerTar: tarball, name: name, changes: changes,
        history: ImageConfig.History(created: rfc3339Now(), createdBy: "berth import"),
        message: message,
        author: nil)
    } catch {
      throw BerthError.wrapping(error, "cannot import \(tarball)")
    }
  }

  func addLayerImage(
    parent: ImageRecord?, layerTar: String, name: String?, changes: [String],
    history: ImageConfig.History, message: String?, author: String?
  ) throws -> ImageRecord {
    let bytes = try readFile(layerTar, limit: 1 << 40)
    let layer = try store.writeBlob(bytes)
    var layers: [Descriptor] = []
    var config: ImageConfig
    if let parent {
      config = try store.config(of: parent)
      for descriptor in try store.manifest(of: parent).layers {
        var copy = descriptor
        // One OCI manifest: Docker's layer types are the same bytes.
        if copy.mediaType == MediaType.dockerLayerGzip { copy.mediaType = MediaType.ociLayerGzip }
        if copy.mediaType == MediaType.dockerLayerTar { copy.mediaType = MediaType.ociLayerTar }
        layers.append(copy)
      }
    } else {
      config = ImageConfig(
        platform: .host, config: ImageConfig.Config(), rootfs: ImageConfig.RootFS(diffIDs: []))
    }
    layers.append(
      Descriptor(mediaType: MediaType.ociLayerTar, digest: layer, size: Int64(bytes.count)))
    config.rootfs.diffIDs.append(layer)
    var entry = history
    entry.comment = message
    entry.author = author
    config.history = (config.history ?? []) + [entry]
    config.created = history.created
    if let author { config.author = author }
    var inner = config.config ?? ImageConfig.Config()
    for change in changes { try Self.apply(change, to: &inner) }
    config.config = inner
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let configBytes = Array(try encoder.encode(config))
    let configDigest = try store.writeBlob(configBytes)
    let manifest = Manifest(
      config: Descriptor(
        mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)),
      layers: layers)
    let manifestBytes = Array(try encoder.encode(manifest))
    var names: [String] = []
    if let name { names = [try Reference(parsing: name).withDefaultTag.description] }
    return try store.commitImage(
      manifestBytes: manifestBytes, mediaType: MediaType.ociManifest, names: names)
  }

  /// One Dockerfile-style change, as `commit -c` and `import -c` take them.
  static func apply(_ change: String, to config: inout ImageConfig.Config) throws {
    let trimmed = change.trimmingCharacters(in: .whitespaces)
    let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
    guard parts.count == 2 else {
      throw BerthError(
        .invalidArgument, "invalid change \"\(change)\"", hint: "use e.g. CMD [\"sh\"] or ENV A=b")
    }
    let value = parts[1].trimmingCharacters(in: .whitespaces)
    func list() -> [String] {
      if value.hasPrefix("["),
        let array = try? JSONDecoder().decode([String].self, from: Data(value.utf8))
      {
        return array
      }
      return ["/bin/sh", "-c", value]
    }
    switch parts[0].uppercased() {
    case "CMD": config.cmd = list()
    case "ENTRYPOINT": config.entrypoint = list()
    case "ENV":
      // ENV K=V, or the old form ENV K V.
      let entry =
        value.contains("=")
        ? value : value.split(separator: " ", maxSplits: 1).joined(separator: "=")
      let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
      config.env = (config.env ?? []).filter { !$0.hasPrefix(key + "=") } + [entry]
    case "WORKDIR": config.workingDir = value
    case "USER": config.user = value
    case "STOPSIGNAL": config.stopSignal = value
    case "HEALTHCHECK": config.healthcheck = try healthcheck(value)
    case "LABEL":
      let kv = value.split(separator: "=", maxSplits: 1).map { part in
        String(part.drop { $0 == "\"" }.reversed().drop { $0 == "\"" }.reversed())
      }
      var labels = config.labels ?? [:]
      labels[kv[0]] = kv.count > 1 ? kv[1] : ""
      config.labels = labels
    case "EXPOSE":
      var ports = config.exposedPorts ?? [:]
      for port in value.split(separator: " ") {
        ports[port.contains("/") ? String(port) : "\(port)/tcp"] = EmptyObject()
      }
      config.exposedPorts = ports
    case "VOLUME":
      var volumes = config.volumes ?? [:]
      for path in list().count == 3 && !value.hasPrefix("[")
        ? value.split(separator: " ").map(String.init) : list()
      {
        volumes[path] = EmptyObject()
      }
      config.volumes = volumes
    default:
      throw BerthError(
        .invalidArgument, "unsupported change \"\(parts[0])\"",
        hint:
          "use CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR"
      )
    }
  }

  /// `HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--retries=N] CMD ...|NONE`.
  static func healthcheck(_ text: String) throws -> ImageConfig.Config.Healthcheck {
    var check = ImageConfig.Config.Healthcheck()
    var rest = Substring(text)
    while rest.hasPrefix("--") {
      let option = rest.prefix { $0 != " " }
      rest = rest.dropFirst(option.count).drop { $0 == " " }
      let parts = option.dropFirst(2).split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else {
        throw BerthError(.invalidArgument, "invalid HEALTHCHECK option \(option)")
      }
      switch parts[0] {
      case "interval": check.interval = try nanoseconds(parts[1], option: "interval")
      case "timeout": check.timeout = try nanoseconds(parts[1], option: "timeout")
      case "start-period": check.startPeriod = try nanoseconds(parts[1], option: "start-period")
      case "retries": check.retries = Int(parts[1])
      default: throw BerthError(.invalidArgument, "invalid HEALTHCHECK option \(option)")
      }
    }
    if rest == "NONE" {
      check.test = ["NONE"]
    } else if rest.hasPrefix("CMD ") {
      let command = rest.dropFirst(4).trimmingCharacters(in: .whitespaces)
      if command.hasPrefix("["),
        let array = try? JSONDecoder().decode([String].self, from: Data(command.utf8))
      {
        check.test = ["CMD"] + array
      } else {
        check.test = ["CMD-SHELL", command]
      }
    } else {
      throw BerthError(
        .invalidArgument, "invalid HEALTHCHECK \(text)",
        hint: "use HEALTHCHECK [OPTIONS] CMD command, or NONE")
    }
    return check
  }

  /// A HEALTHCHECK option's duration (30s, 1m30s, 500ms) in nanoseconds.
  static func nanoseconds(_ text: String, option: String) throws(BerthError) -> Int64 {
    Int64(try parseDuration(text, what: "HEALTHCHECK --\(option)", allowZero: true) * 1e9)
  }

  // MARK: cp

  /// Copies `path` out of the container as a tar on `fd` (its last
  /// component the entry's name; symlinks inside are stored, not followed).
  public func copyOut(_ reference: String, path: String, to fd: Int32) throws(BerthError) {
    let container = try refresh(try lookup(reference).id)
    do {
      try withRootfs(container) { rootfs, _ in
        let root = try RootFS(path: rootfs)
        let parentPath = path.split(separator: "/").dropLast().joined(separator: "/")
        let name = path.split(separator: "/").last.map(String.init) ?? "."
        guard name != ".." else {
          throw BerthError(
            .invalidArgument, "cannot copy \(path): name a file or directory, not ..")
        }
        let parent = try root.open("/" + parentPath, flags: O_RDONLY | O_DIRECTORY)
        defer { close(parent) }
        var st = stat()
        guard name == "." || fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
          throw BerthError(.notFound, "\(path) does not exist in container \(container.name)")
        }
        let status = try ChildProcess.run(
          [
            "tar", "--numeric-owner", "-C", "/proc/\(getpid())/fd/\(parent)", "-cf", "-", "--",
            name,
          ],
          path: "/bin/tar", stdout: .fd(fd))
        guard status == 0 else { throw BerthError(.system, "tar of \(path) failed") }
      }
    } catch {
      throw BerthError.wrapping(error, "cannot copy \(path) out of \(container.name)")
    }
  }

  /// Unpacks the tar at `archive` into the container's directory `path`
  /// (resolved in the rootfs; it must exist). `keepDirectoryKinds`: refuse
  /// to replace a directory with a non-directory or the reverse.
  public func copyIn(
    _ reference: String, archive: String, to path: String, keepOwners: Bool,
    keepDirectoryKinds: Bool = false
  ) throws(BerthError) {
    let container = try refresh(try lookup(reference).id)
    do {
      try withRootfs(container) { rootfs, _ in
        let root = try RootFS(path: rootfs)
        let directory = try root.open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(directory) }
        var options = UnpackOptions(rootless: rootless, name: "archive for \(container.name)")
        options.whiteouts = false
        options.chown = keepOwners && !rootless
        options.keepDirectoryKinds = keepDirectoryKinds
        _ = try LayerUnpacker.unpack(blob: archive, intoDirectoryFD: directory, options: options)
      }
    } catch {
      throw BerthError.wrapping(error, "cannot copy into \(container.name):\(path)")
    }
  }

  /// Whether `path` is a directory in the container (nil: it does not exist).
  public func isDirectory(_ reference: String, path: String) throws(BerthError) -> Bool? {
    let container = try refresh(try lookup(reference).id)
    do {
      return try withRootfs(container) { rootfs, _ in
        guard let fd = try? RootFS(path: rootfs).open(path, flags: O_PATH) else { return nil }
        defer { close(fd) }
        var st = stat()
        return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
      }
    } catch {
      throw BerthError.wrapping(error, "cannot look up \(path) in \(container.name)")
    }
  }

  /// What `path` is in the container (its last component not followed),
  /// or nil when it does not exist: the API's HEAD/GET archive stat.
  public func pathStat(_ reference: String, path: String) throws(BerthError) -> PathStat? {
    let container = try refresh(try lookup(reference).id)
    do {
      return try withRootfs(container) { rootfs, _ -> PathStat? in
        let root = try RootFS(path: rootfs)
        // Lexically first: a `..` handed to fstatat at the rootfs's top
        // would look above it.
        let (parentPath, name) = RootFS.split(RootFS.clean(path))
        guard let parent = try? root.open(parentPath, flags: O_PATH | O_DIRECTORY) else {
          return nil
        }
        defer { close(parent) }
        var st = stat()
        let atRoot = name == "."
        let found = atRoot ? fstat(parent, &st) : fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW)
        guard found == 0 else { return nil }
        let isLink = (st.st_mode & S_IFMT) == S_IFLNK
        return PathStat(
          name: atRoot ? "/" : name, size: Int64(st.st_size), mode: st.st_mode,
          mtimeSeconds: Int64(st.st_mtim.tv_sec), mtimeNanoseconds: Int(st.st_mtim.tv_nsec),
          linkTarget: isLink ? RootFS.readLink(at: parent, name) ?? "" : "")
      }
    } catch {
      throw BerthError.wrapping(error, "cannot look up \(path) in \(container.name)")
    }
  }

  /// Unpacks a tar from a container onto the host directory `directory`.
  public func unpackOnHost(archive: String, into directory: String) throws(BerthError) {
    do {
      var options = UnpackOptions(rootless: rootless, name: "archive")
      options.whiteouts = false
      _ = try LayerUnpacker.unpack(blob: archive, into: directory, options: options)
    } catch {
      throw BerthError.wrapping(error, "cannot unpack into \(directory)")
    }
  }
}
