import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

/// The runtime's state directory (`--root`): one directory per container
/// holding state.json and, until `start`, the exec fifo.
public struct StateStore: Sendable {
  public let root: String

  public init(root: String) { self.root = root }

  /// The default `--root`: /run/berth-runtime, or under $XDG_RUNTIME_DIR
  /// when rootless, as runc and crun place theirs.
  public static func defaultRoot(rootless: Bool) -> String {
    if rootless, let xdg = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), !xdg.isEmpty {
      return xdg + "/berth-runtime"
    }
    return "/run/berth-runtime"
  }

  public func directory(_ id: String) -> String { root + "/" + id }
  public func fifoPath(_ id: String) -> String { directory(id) + "/exec.fifo" }
  func statePath(_ id: String) -> String { directory(id) + "/state.json" }

  /// Container ids become directory names: refuse anything that could
  /// name another place (runc accepts [\w+\-.]+ and not "." or "..").
  public static func validate(id: String) throws(BerthError) {
    let allowed = id.utf8.allSatisfy { c in
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
        || c == 0x5f || c == 0x2b || c == 0x2d || c == 0x2e
    }
    guard !id.isEmpty, id != ".", id != "..", allowed, id.utf8.count <= 1024 else {
      throw BerthError(
        .invalidArgument, "invalid container id \"\(id)\"",
        hint: "use letters, digits, '_', '+', '-' and '.' only")
    }
  }

  /// Reserves the id by creating its directory; fails if the id is taken.
  public func reserve(_ id: String) throws(BerthError) {
    try StateStore.validate(id: id)
    try mkdirAll(root, mode: 0o700)
    if mkdir(directory(id), 0o700) != 0 {
      if currentErrno == .fileExists {
        throw BerthError(
          .alreadyExists, "container \"\(id)\" already exists",
          hint: "choose another id, or `delete \(id)` first")
      }
      throw .system("cannot create state directory \(directory(id))", currentErrno)
    }
  }

  public func save(_ record: ContainerRecord) throws(BerthError) {
    var bytes: [UInt8]
    do {
      let encoder = JSONEncoder()
      let raw = record.specJSON.flatMap { Self.isJSONObject($0) ? $0 : nil }
      if raw != nil { encoder.userInfo[ContainerRecord.omitSpec] = true }
      bytes = Array(try encoder.encode(record))
      if let raw, bytes.last == UInt8(ascii: "}") {
        bytes.removeLast()
        bytes += Array(",\"spec\":".utf8) + raw + [UInt8(ascii: "}")]
      }
    } catch {
      throw BerthError(.internalError, "cannot encode state of \(record.id): \(error)")
    }
    try writeFileAtomically(statePath(record.id), bytes, durable: false)
  }

  /// Bytes that decoded as a spec and start with "{" (no byte-order mark)
  /// can stand as a JSON value inside state.json.
  static func isJSONObject(_ bytes: [UInt8]) -> Bool {
    bytes.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D } == UInt8(ascii: "{")
  }

  public func load(_ id: String) throws(BerthError) -> ContainerRecord {
    try StateStore.validate(id: id)
    let bytes: [UInt8]
    do {
      bytes = try readFile(statePath(id))
    } catch  where error.code == .notFound {
      throw BerthError(
        .notFound, "container \"\(id)\" does not exist",
        hint: "`list` shows the containers under --root \(root)")
    }
    do {
      return try JSONDecoder().decode(ContainerRecord.self, from: Data(bytes))
    } catch {
      throw BerthError(
        .invalidState, "state of container \"\(id)\" is unreadable: \(error)",
        hint: "`delete --force \(id)` removes it")
    }
  }

  public func ids() -> [String] {
    listDirectory(root).filter { fileExists(statePath($0)) }.sorted()
  }

  public func remove(_ id: String) {
    try? removeTree(directory(id))
  }
}
