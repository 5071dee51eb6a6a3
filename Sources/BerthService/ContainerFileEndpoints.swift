// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// A container's files: GET /containers/{id}/changes, /export, and
// GET/HEAD/PUT /containers/{id}/archive (docker cp). Tars come from the
// engine through a pipe and go to the client at its pace; paths inside the
// container are the engine's to resolve (in the rootfs, by fd).
import BerthEngine
import BerthSystem
import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1

enum ContainerFileEndpoints {
  /// `[{"Path": ..., "Kind": 0|1|2}]`: modified, added, deleted.
  static func changes(_ reference: String, _ state: ServiceState) throws -> APIResponse {
    struct Change: Encodable {
      var Path: String
      var Kind: Int
    }
    let changes = try state.engine().diff(reference).map { kind, path in
      let code: Int =
        switch kind {
        case .changed: 0
        case .added: 1
        case .deleted: 2
        }
      return Change(Path: path, Kind: code)
    }
    return .json(.ok, Router.json(changes))
  }

  /// The whole rootfs as a tar, streamed.
  static func export(_ reference: String, _ state: ServiceState) throws -> APIResponse {
    let id = try state.engine().lookup(reference).id
    return tarStream(state, headers: []) { engine, fd in try engine.export(id, to: fd) }
  }

  static func archive(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    guard let path = request.query["path"], !path.isEmpty else {
      throw BerthError(
        .invalidArgument, "bad parameter: path cannot be empty",
        hint: "give the path inside the container as ?path=")
    }
    let engine = try state.engine()
    let id = try engine.lookup(reference).id
    guard let stat = try engine.pathStat(id, path: path) else {
      throw BerthError(
        .notFound, "Could not find the file \(path) in container \(reference)",
        hint: "check the path inside the container")
    }
    switch request.method {
    case .PUT:
      return try extract(id, path, stat, request, engine)
    case .HEAD:
      return .stream(
        .ok, contentType: "application/x-tar", headers: [statHeader(stat, path)], produce: nil)
    default:
      return tarStream(state, headers: [statHeader(stat, path)]) { engine, fd in
        try engine.copyOut(id, path: path, to: fd)
      }
    }
  }

  /// PUT: the body, a tar, unpacked into the directory `path` (through
  /// directory fds: `..`, absolute names and symlinks cannot lead out).
  static func extract(
    _ id: String, _ path: String, _ stat: PathStat, _ request: APIRequest, _ engine: Engine
  ) throws -> APIResponse {
    guard stat.isDirectory else {
      throw BerthError(
        .invalidArgument, "extraction point is not a directory",
        hint: "PUT the archive to the directory that should hold its entries")
    }
    guard let tar = request.spooled else {
      throw BerthError(.invalidArgument, "the archive is missing", hint: "send a tar body")
    }
    // The body was spooled to disk as it came; an entry refused (`..`, an
    // absolute name) is invalidArgument: a 400.
    try engine.copyIn(
      id, archive: tar.path, to: path, keepOwners: request.flag("copyUIDGID"),
      keepDirectoryKinds: request.flag("noOverwriteDirNonDir"))
    return .empty(.ok)
  }

  /// docker's `X-Docker-Container-Path-Stat`: base64 of
  /// `{name, size, mode, mtime, linkTarget}`, mode in Go's os.FileMode bits.
  static func statHeader(_ stat: PathStat, _ path: String) -> (String, String) {
    struct Shape: Encodable {
      var name: String
      var size: Int64
      var mode: UInt32
      var mtime: String
      var linkTarget: String
    }
    var target = stat.linkTarget
    if !target.isEmpty && !target.hasPrefix("/") {
      // docker reports where the link leads, as an absolute path.
      target = RootFS.clean(RootFS.clean(path) + "/../" + target)
    }
    let shape = Shape(
      name: stat.name, size: stat.size, mode: goFileMode(stat.mode),
      mtime: rfc3339(seconds: stat.mtimeSeconds, nanoseconds: stat.mtimeNanoseconds),
      linkTarget: target)
    let json = Router.json(shape).dropLast()  // no newline
    return ("X-Docker-Container-Path-Stat", Data(json).base64EncodedString())
  }

  /// st_mode as Go's os.FileMode: type bits at the top, then setuid,
  /// setgid and sticky, then the permissions.
  static func goFileMode(_ mode: mode_t) -> UInt32 {
    var bits = UInt32(mode & 0o777)
    switch mode & S_IFMT {
    case S_IFDIR: bits |= 1 << 31
    case S_IFLNK: bits |= 1 << 27
    case S_IFIFO: bits |= 1 << 25
    case S_IFSOCK: bits |= 1 << 24
    case S_IFBLK: bits |= 1 << 26
    case S_IFCHR: bits |= 1 << 26 | 1 << 21
    default: break
    }
    if mode & S_ISUID != 0 { bits |= 1 << 23 }
    if mode & S_ISGID != 0 { bits |= 1 << 22 }
    if mode & S_ISVTX != 0 { bits |= 1 << 20 }
    return bits
  }

  /// A tar the engine writes to a pipe (on its own pool thread, with its
  /// own Engine), copied to the client as it comes. A client that leaves
  /// closes the pipe under tar, which then stops.
  static func tarStream(
    _ state: ServiceState, headers: [(String, String)],
    write: @escaping @Sendable (Engine, Int32) throws -> Void
  ) -> APIResponse {
    .stream(.ok, contentType: "application/x-tar", headers: headers) { body in
      guard let pipe = try? makePipe() else { return }
      state.run(on: body.channel.eventLoop) {
        defer { close(pipe.write) }
        do {
          try write(try state.engine(), pipe.write)
        } catch {
          FileDescriptorOutput.standardError("tar stream: \(error)\n")
        }
      }.whenFailure { _ in close(pipe.write) }  // never ran: the pool stopped
      _ = body.copy(from: pipe.read)
      close(pipe.read)
    }
  }
}
