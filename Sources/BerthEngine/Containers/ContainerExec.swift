// `exec`: a process joins a running container. The CLI may be
// multithreaded, so the entering is done by berth-monitor (single-threaded,
// started by posix_spawn from the read-only bind mount).
import BerthImage
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc

public struct ExecRequest: Sendable {
  public var command: [String]
  public var env: [String] = []
  public var user: String?
  public var workingDir: String?
  public var tty = false
  public var detach = false
  public var privileged = false
  /// Output to /dev/null (health checks run from the CLI).
  public var quiet = false
  /// The process's stdin, stdout and stderr as fds of ours (the API
  /// service's pipes) instead of our own stdio; no signals forwarded.
  public var stdio: [Int32]?
  /// Called with the pid of the helper relaying the process (with `stdio`)
  /// once it runs: the API service signals it SIGWINCH after a resize of
  /// the terminal it gave as stdio.
  public var started: (@Sendable (pid_t) -> Void)?
  public init(command: [String]) { self.command = command }
}

extension Engine {
  /// Runs the process; returns its exit code (126/127 when it could not run).
  public func exec(_ reference: String, _ request: ExecRequest) throws(BerthError) -> Int32 {
    let container = try refresh(try lookup(reference).id)
    guard container.state == .running else {
      throw BerthError(
        .invalidState, "container \(container.name) is not running, so you cannot exec in it",
        hint: "`berth start \(container.name)` first")
    }
    let config = try container.decodedConfig()
    let external = driver(config, id: container.id).external
    let spec: Spec
    if external != nil {
      do {
        let bytes = try readFile(containerDirectory(container.id) + "/config.json", limit: 16 << 20)
        spec = try JSONDecoder().decode(Spec.self, from: Data(bytes))
      } catch {
        throw BerthError.wrapping(error, "cannot read the spec of \(container.name)")
      }
    } else {
      spec = try runtime.store.load(container.id).spec
    }
    guard var process = spec.process else {
      throw BerthError(.internalError, "container \(container.name) has no process in its spec")
    }
    process.args = request.command
    process.terminal = request.tty
    process.env = ContentStore.mergeEnvironment(process.env ?? [], request.env)
    if let dir = request.workingDir { process.cwd = dir }
    if let user = request.user {
      let resolved: (uid: UInt32, gid: UInt32, additionalGids: [UInt32])
      do {
        resolved = try ContentStore.resolveUser(user, rootfs: "/proc/\(container.pid)/root")
      } catch {
        throw BerthError.wrapping(error, "cannot resolve user \(user)")
      }
      process.user = Spec.User(uid: resolved.uid, gid: resolved.gid)
      if resolved.uid != 0 {
        process.capabilities?.effective = []
        process.capabilities?.permitted = []
      }
    }
    if request.privileged {
      let all = Capability.allNames
      process.capabilities = Spec.Capabilities(
        bounding: all, effective: all, inheritable: nil, permitted: all, ambient: nil)
    }
    // The process (its environment may hold secrets) goes in a 0600 file in
    // the 0700 run directory, not on a command line anyone can read.
    let processFile =
      runDirectory(container.id) + "/exec-\(ContainerNames.randomID().prefix(16)).json"
    try writeJSON(process, to: processFile)
    defer { unlink(processFile) }
    let binary = try MonitorLauncher.protectedBinary(runRoot: runRoot, rootless: rootless)
    var arguments = [
      external?.root ?? runtimeRoot, container.id, processFile, runDirectory(container.id),
    ]
    if request.detach { arguments.append("--detach") }
    if let external { arguments.append("--runtime=" + external.path) }
    // Logged as podman logs it: `exec`, then `exec_died` with the code.
    let command = request.command.joined(separator: " ")
    recordEvent(container, "exec", ["execCommand": command])
    let code: Int32
    if let stdio = request.stdio, stdio.count == 3 {
      let pid = try ChildProcess.spawn(
        ["berth-monitor", "exec"] + arguments, path: binary, stdin: .fd(stdio[0]),
        stdout: .fd(stdio[1]), stderr: .fd(stdio[2]))
      request.started?(pid)
      code = exitCode(fromWaitStatus: try BerthSystem.waitForExit(pid))
    } else {
      code = try MonitorLauncher.exec(
        binary: binary, arguments: arguments, quiet: request.quiet, detached: request.detach)
    }
    if !request.detach {
      recordEvent(container, "exec_died", ["execCommand": command, "exitCode": "\(code)"])
    }
    return code
  }
}
