import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

/// A bundle directory: config.json plus the rootfs it names.
struct Bundle {
  let path: String
  let spec: Spec
  let rootfs: String
  /// config.json as read, which `spec` was decoded from.
  let specJSON: [UInt8]

  /// Loads and validates the bundle, before anything is created, so bad
  /// input changes nothing.
  static func load(_ path: String) throws(BerthError) -> Bundle {
    guard let real = realpath(path, nil) else {
      throw .system("bundle \(path) does not exist", currentErrno, hint: "pass --bundle DIR")
    }
    let bundle = String(cString: real)
    free(real)
    let configPath = bundle + "/config.json"
    let bytes: [UInt8]
    do {
      bytes = try readFile(configPath)
    } catch  where error.code == .notFound {
      throw BerthError(
        .notFound, "config.json not found in bundle \(bundle)",
        hint: "`berth-runtime spec` writes a default one")
    }
    let spec: Spec
    do {
      spec = try JSONDecoder().decode(Spec.self, from: Data(bytes))
    } catch {
      throw BerthError(
        .invalidArgument,
        "config.json in \(bundle) is not a valid runtime spec: \(describe(error))",
        hint: "fix the JSON, or write a fresh one with `berth-runtime spec`")
    }
    try validateVersion(spec.ociVersion)
    guard let rootPath = spec.root?.path, !rootPath.isEmpty else {
      throw BerthError(.invalidArgument, "config.json in \(bundle) has no root.path")
    }
    let rootfs = rootPath.hasPrefix("/") ? rootPath : bundle + "/" + rootPath
    guard isDirectory(rootfs) else {
      throw BerthError(
        .notFound, "rootfs \(rootfs) does not exist or is not a directory",
        hint: "root.path in config.json must name the container's root directory")
    }
    return Bundle(path: bundle, spec: spec, rootfs: rootfs, specJSON: bytes)
  }

  /// Only runtime-spec 1.x is understood.
  static func validateVersion(_ version: String) throws(BerthError) {
    guard version.split(separator: ".").first == "1" else {
      throw BerthError(
        .unsupported, "unsupported ociVersion \"\(version)\" in config.json",
        hint: "this runtime implements runtime-spec 1.x (\(ociRuntimeSpecVersion))")
    }
  }

  /// Decoding errors name the key path, so the user can find the field.
  static func describe(_ error: any Error) -> String {
    switch error as? DecodingError {
    case .typeMismatch(let type, let ctx)?:
      return "\(path(ctx)): expected \(type)"
    case .valueNotFound(let type, let ctx)?:
      return "\(path(ctx)): missing \(type)"
    case .keyNotFound(let key, let ctx)?:
      return "\(path(ctx)): missing required key \"\(key.stringValue)\""
    case .dataCorrupted(let ctx)?:
      return ctx.codingPath.isEmpty ? "not valid JSON" : "\(path(ctx)): \(ctx.debugDescription)"
    default:
      return "\(error)"
    }
  }

  static func path(_ ctx: DecodingError.Context) -> String {
    let keys = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }
    return keys.isEmpty ? "top level" : String(keys.joined().drop { $0 == "." })
  }
}
