// Rootless storage with real file owners, as podman keeps it: layers are
// unpacked (and removed) by a helper `berth` process inside a user namespace
// where 0 is the calling user and 1... are its subordinate IDs from
// /etc/subuid and /etc/subgid. util-linux's unshare sets the mapping up
// (through the setuid newuidmap/newgidmap), so no namespace code runs in
// this multithreaded process.
import BerthOCI
import BerthSystem
import Foundation
import Glibc

public struct SubordinateIDs: Sendable, Equatable {
  public var start: UInt32
  public var count: UInt32

  public init(start: UInt32, count: UInt32) {
    self.start = start
    self.count = count
  }
}

public enum UserNamespace {
  /// The first range for `user` (by name or numeric id) in a subid file.
  public static func range(in text: String, user: String, id: UInt32) -> SubordinateIDs? {
    ranges(in: text, user: user, id: id).first
  }

  /// Every range for `user` (by name, or by numeric id when given) in a
  /// subid file, in its order.
  public static func ranges(in text: String, user: String, id: UInt32? = nil) -> [SubordinateIDs] {
    text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: ":").map(String.init)
      guard fields.count == 3, fields[0] == user || id.map(String.init) == fields[0],
        let start = UInt32(fields[1]), let count = UInt32(fields[2]), count > 0
      else { return nil }
      return SubordinateIDs(start: start, count: count)
    }
  }

  /// The `unshare` command that runs a program in such a namespace, or nil
  /// when this user has no subordinate IDs or the tools are missing.
  /// Worked out once per process: it reads /etc/subuid and /etc/subgid, and
  /// every layer's unpack and removal asks.
  public static func command() -> [String]? { cachedCommand }

  private static let cachedCommand: [String]? = findCommand()

  private static func findCommand() -> [String]? {
    guard geteuid() != 0 else { return nil }
    let candidates: [String] = ["/usr/bin/unshare", "/bin/unshare"]
    let unshare = candidates.first { access($0, X_OK) == 0 }
    guard let unshare, access("/usr/bin/newuidmap", X_OK) == 0,
      access("/usr/bin/newgidmap", X_OK) == 0,
      let password = getpwuid(getuid()), let name = password.pointee.pw_name,
      let uids = try? Sys.readFile("/etc/subuid"), let gids = try? Sys.readFile("/etc/subgid")
    else { return nil }
    let user = String(cString: name)
    guard
      let uidRange = range(in: String(decoding: uids, as: UTF8.self), user: user, id: getuid()),
      let gidRange = range(in: String(decoding: gids, as: UTF8.self), user: user, id: getgid())
    else { return nil }
    return [
      unshare, "--map-user=0", "--map-group=0",
      "--map-users=\(uidRange.start),1,\(uidRange.count)",
      "--map-groups=\(gidRange.start),1,\(gidRange.count)", "--",
    ]
  }
}

/// What the unpack helper reports back.
struct HelperResult: Codable {
  var diffID: Digest
  var tarSize: Int64
  var contentSize: Int64
}

extension ContentStore {
  /// The helper invocation for rootless work, when it can be used.
  var namespaceHelper: [String]? {
    guard rootless, let helper, let command = UserNamespace.command() else { return nil }
    return command + [helper, "--root", root]
  }

  /// Runs a hidden helper subcommand in the user namespace.
  private func runHelper(_ arguments: [String], what: String) throws {
    guard let prefix = namespaceHelper else {
      throw BerthError(.internalError, "no user namespace helper for \(what)")
    }
    let log = "\(root)/ingest/helper-\(Sys.randomHex(6)).log"
    defer { unlink(log) }
    let status = try Spawn.run(prefix + arguments, log: log)
    guard status == 0 else {
      let text = (try? Sys.readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
      let line = text.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
      throw BerthError(
        .system,
        "\(what) in a user namespace failed: "
          + (line.hasPrefix("Error: ") ? String(line.dropFirst(7)) : line))
    }
  }

  /// Unpacks a layer with real owners (in the namespace) when rootless and
  /// possible; as the plain user otherwise.
  func unpackAsOwner(blob: Digest, into directory: String, maps: IDMaps? = nil) throws
    -> UnpackResult
  {
    guard namespaceHelper != nil else {
      var options = UnpackOptions(rootless: rootless, name: blob.short)
      options.idMaps = maps
      return try LayerUnpacker.unpack(blob: blobPath(blob), into: directory, options: options)
    }
    let resultPath = "\(root)/ingest/unpack-\(Sys.randomHex(6)).json"
    defer { unlink(resultPath) }
    var arguments = ["__unpack-layer", blobPath(blob), directory, resultPath]
    if let maps {
      arguments.append(String(decoding: try JSONEncoder().encode(maps), as: UTF8.self))
    }
    try runHelper(arguments, what: "unpack layer \(blob.short)")
    let result = try JSONDecoder().decode(
      HelperResult.self, from: Data(try Sys.readFile(resultPath)))
    return UnpackResult(
      diffID: result.diffID, tarSize: result.tarSize, contentSize: result.contentSize)
  }

  /// Removes a tree that may hold files of subordinate owners.
  func removeOwnedTree(_ path: String) throws {
    if namespaceHelper != nil, Sys.exists(path) {
      try runHelper(["__remove-tree", path], what: "remove \(path)")
    } else {
      try Sys.removeTree(path)
    }
  }

  /// The helper side of `__unpack-layer`: runs as root of the namespace.
  public static func helperUnpack(
    blob: String, into directory: String, result: String, maps: String? = nil
  ) throws {
    var options = UnpackOptions(
      rootless: true, name: Sys.lastComponent(blob).prefix(12).description, chown: true)
    if let maps { options.idMaps = try JSONDecoder().decode(IDMaps.self, from: Data(maps.utf8)) }
    let unpacked = try LayerUnpacker.unpack(blob: blob, into: directory, options: options)
    let data = try JSONEncoder().encode(
      HelperResult(
        diffID: unpacked.diffID, tarSize: unpacked.tarSize, contentSize: unpacked.contentSize))
    try Sys.writeFileAtomically(result, Array(data), mode: 0o600)
  }

  /// The helper side of `__remove-tree`.
  public static func helperRemove(_ path: String) throws {
    try Sys.removeTree(path)
  }
}
