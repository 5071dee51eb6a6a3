// Image → OCI runtime config: what the image config says to run (entrypoint,
// cmd, env, working dir, user) applied over the runtime's default spec, with
// names in `User` resolved from the image's own /etc/passwd and /etc/group.
import BerthOCI
import BerthSystem
import Foundation
import Glibc
import SystemPackage

public struct RunOverrides: Sendable {
  /// Replaces the image's Cmd (and, with `entrypoint`, its Entrypoint).
  public var command: [String]?
  public var entrypoint: [String]?
  public var env: [String] = []
  public var workingDir: String?
  public var user: String?
  public var terminal = false

  public init() {}
}

extension ContentStore {
  /// A runtime spec for running `image` from the root filesystem at `rootfs`.
  public func runtimeSpec(
    for image: ImageRecord, rootfs: String, overrides: RunOverrides = RunOverrides()
  ) throws -> Spec {
    let config = try self.config(of: image).config ?? ImageConfig.Config()
    var spec = Spec.runtimeDefault(rootless: rootless, uid: getuid(), gid: getgid())
    spec.root = Spec.Root(path: rootfs, readonly: false)
    guard var process = spec.process else {
      throw BerthError(.internalError, "the default runtime spec has no process")
    }
    let entrypoint = overrides.entrypoint ?? config.entrypoint ?? []
    let command = overrides.command ?? (overrides.entrypoint == nil ? config.cmd ?? [] : [])
    let args = entrypoint + command
    guard !args.isEmpty else {
      throw BerthError(
        .invalidArgument, "image \(image.id.short) has no command to run",
        hint: "give a command after the image name")
    }
    process.args = args
    process.terminal = overrides.terminal
    process.env = Self.mergeEnvironment(
      process.env ?? [], config.env ?? [], overrides.env)
    process.cwd =
      overrides.workingDir ?? (config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/")
    let user = try Self.resolveUser(overrides.user ?? config.user ?? "", rootfs: rootfs)
    process.user = Spec.User(uid: user.uid, gid: user.gid)
    if !user.additionalGids.isEmpty { process.user.additionalGids = user.additionalGids }
    spec.process = process
    return spec
  }

  /// Later lists win per variable name, as docker applies them.
  public static func mergeEnvironment(_ lists: [String]...) -> [String] {
    var order: [String] = []
    var values: [String: String] = [:]
    for list in lists {
      for entry in list {
        let name = String(entry.split(separator: "=", maxSplits: 1).first ?? "")
        if values[name] == nil { order.append(name) }
        values[name] = entry
      }
    }
    return order.compactMap { values[$0] }
  }

  /// Resolves `user[:group]` (names or numbers) against the image's passwd
  /// and group files, read without following symlinks out of the rootfs.
  public static func resolveUser(_ spec: String, rootfs: String) throws -> (
    uid: UInt32, gid: UInt32, additionalGids: [UInt32]
  ) {
    let user = try resolveUserAndHome(spec, rootfs: rootfs)
    return (user.uid, user.gid, user.additionalGids)
  }

  /// The same, with the user's home directory from the same read of passwd,
  /// for a HOME the env leaves unset (as runc and crun set it): /root for
  /// root, "/" for a user passwd does not list. The default user, root,
  /// reads no file (it is every run's).
  public static func resolveUserAndHome(_ spec: String, rootfs: String) throws -> (
    uid: UInt32, gid: UInt32, additionalGids: [UInt32], home: String
  ) {
    if spec.isEmpty { return (0, 0, [], "/root") }
    let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
    let passwd = readInRoot(rootfs, "/etc/passwd").map(parseColonFile) ?? []
    let groups = readInRoot(rootfs, "/etc/group").map(parseColonFile) ?? []
    var uid: UInt32
    var gid: UInt32
    var userName: String?
    var home: String?
    if let number = UInt32(parts[0]) {
      uid = number
      let entry = passwd.first { $0.count > 3 && $0[2] == parts[0] }
      gid = entry.flatMap { UInt32($0[3]) } ?? 0
      userName = entry?[0]
      home = entry.flatMap { $0.count > 5 ? $0[5] : nil }
    } else if let entry = passwd.first(where: { $0.count > 3 && $0[0] == parts[0] }),
      let number = UInt32(entry[2])
    {
      uid = number
      gid = UInt32(entry[3]) ?? 0
      userName = entry[0]
      home = entry.count > 5 ? entry[5] : nil
    } else {
      throw BerthError(
        .notFound, "user \"\(parts[0])\" is not in the image's /etc/passwd",
        hint: "use a numeric uid or a user the image defines")
    }
    if parts.count == 2 {
      if let number = UInt32(parts[1]) {
        gid = number
      } else if let entry = groups.first(where: { $0.count > 2 && $0[0] == parts[1] }),
        let number = UInt32(entry[2])
      {
        gid = number
      } else {
        throw BerthError(.notFound, "group \"\(parts[1])\" is not in the image's /etc/group")
      }
    }
    var additional: [UInt32] = []
    if let userName, parts.count == 1 {
      for entry in groups where entry.count > 3 {
        if entry[3].split(separator: ",").contains(Substring(userName)),
          let number = UInt32(entry[2]), number != gid
        {
          additional.append(number)
        }
      }
    }
    let fallback = uid == 0 ? "/root" : "/"
    return (uid, gid, additional, home.flatMap { $0.isEmpty ? nil : $0 } ?? fallback)
  }

  private static func parseColonFile(_ text: String) -> [[String]] {
    text.split(separator: "\n").map {
      $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    }
  }

  /// Reads a small file inside the image's rootfs, refusing any symlink on
  /// the way (RootFS, RESOLVE_NO_SYMLINKS): a symlinked /etc/passwd in an
  /// image is ignored, not followed.
  static func readInRoot(_ root: String, _ inner: String) -> String? {
    guard let rootfs = try? RootFS(path: root),
      let fd = try? rootfs.open(inner, flags: O_RDONLY, noSymlinks: true)
    else { return nil }
    defer { close(fd) }
    guard let bytes = try? FileDescriptor(rawValue: fd).readToEnd(what: inner, limit: 4 << 20)
    else { return nil }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Writes `bundle/config.json` for the snapshot's mounted rootfs.
  public func writeBundle(
    _ bundle: String, image: ImageRecord, snapshot: Snapshot,
    overrides: RunOverrides = RunOverrides()
  ) throws {
    let spec = try runtimeSpec(for: image, rootfs: snapshot.merged, overrides: overrides)
    try Sys.mkdirs(bundle, mode: 0o755)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try Sys.writeFileAtomically(bundle + "/config.json", Array(try encoder.encode(spec)))
  }
}
