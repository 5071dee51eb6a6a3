// Another OCI runtime (runc, crun, berth-runtime or a path) driven through
// its command line, as conmon and podman drive them, for `--runtime`.
// Each call is a posix_spawn of the runtime and a wait; the runtime's
// errors go to a log file (--log, JSON lines) so they never mix with the
// container's output, and come back as the message of the error thrown.
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

public struct OCIRuntimeCommand: Sendable {
  public let path: String
  public let root: String
  /// Where the runtime's own log goes (its errors, as JSON lines).
  public let log: String

  public init(path: String, root: String, log: String) {
    self.path = path
    self.root = root
    self.log = log
  }

  /// The binary for a `--runtime` value: a path, or a name in PATH.
  public static func resolve(_ name: String) throws(BerthError) -> String {
    if name.contains("/") {
      guard access(name, X_OK) == 0 else {
        throw BerthError(.notFound, "OCI runtime \(name) is not an executable file")
      }
      return name
    }
    switch lookupExecutable(name, env: ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]) {
    case .success(let path): return path
    case .failure:
      throw BerthError(
        .notFound, "OCI runtime \"\(name)\" is not installed",
        hint: "install it, give its path, or leave --runtime out for berth's own")
    }
  }

  /// Runs `verb arguments...`; throws with the runtime's own message when it fails.
  @discardableResult
  public func run(
    _ arguments: [String], stdin: ChildProcess.Stream = .file("/dev/null", O_RDONLY),
    stdout: ChildProcess.Stream = .file("/dev/null", O_WRONLY),
    stderr: ChildProcess.Stream? = nil
  ) throws(BerthError) -> Int32 {
    truncate(log, 0)
    let status = try ChildProcess.run(
      command(arguments), stdin: stdin,
      stdout: stdout, stderr: stderr ?? .file(log, O_WRONLY | O_CREAT | O_APPEND))
    if status != 0 {
      throw BerthError(
        .system,
        lastError()
          ?? "\(lastComponent(path)) \(arguments.first ?? "") failed with status \(status)")
    }
    return status
  }

  /// The runtime's argv for `arguments`, with our global flags.
  public func command(_ arguments: [String]) -> [String] {
    [path, "--root", root, "--log", log, "--log-format", "json"] + arguments
  }

  /// The last error the runtime logged ("msg" of its JSON lines).
  public func lastError() -> String? {
    guard let bytes = try? readFile(log, limit: 1 << 20) else { return nil }
    struct Line: Decodable {
      var msg: String?
      var level: String?
    }
    var message: String?
    for line in bytes.split(separator: 0x0A) {
      if let entry = try? JSONDecoder().decode(Line.self, from: Data(line)), let text = entry.msg,
        entry.level == "error" || entry.level == nil
      {
        message = text
      } else if !line.isEmpty, line.first != UInt8(ascii: "{") {
        message = String(decoding: line, as: UTF8.self)
      }
    }
    return message.map { lastComponent(path) + ": " + $0 }
  }

  public func kill(_ id: String, signal: Int32, all: Bool) throws(BerthError) {
    try run(["kill"] + (all ? ["--all"] : []) + [id, "\(signal)"])
  }

  public func delete(_ id: String) throws(BerthError) { try run(["delete", "--force", id]) }

  public func pause(_ id: String) throws(BerthError) { try run(["pause", id]) }

  public func resume(_ id: String) throws(BerthError) { try run(["resume", id]) }

  /// `update --resources FILE`: new cgroup limits (the file is written here).
  public func update(_ id: String, resources: Spec.Resources, file: String) throws(BerthError) {
    do {
      try writeFileAtomically(file, Array(try JSONEncoder().encode(resources)), durable: false)
    } catch let error as BerthError {
      throw error
    } catch {
      throw BerthError(.internalError, "cannot encode the resources: \(error)")
    }
    try run(["update", "--resources", file, id])
  }

  /// The container's pid and status from `state`.
  public func state(_ id: String) throws(BerthError) -> (pid: pid_t, status: String) {
    let output = log + ".state"
    defer { unlink(output) }
    try run(["state", id], stdout: .file(output, O_WRONLY | O_CREAT | O_TRUNC))
    struct State: Decodable {
      var pid: Int32?
      var status: String
    }
    guard
      let state = try? JSONDecoder().decode(
        State.self, from: Data(try readFile(output, limit: 1 << 20)))
    else {
      throw BerthError(.system, "\(lastComponent(path)) state \(id) printed no state")
    }
    return (state.pid ?? 0, state.status)
  }
}
