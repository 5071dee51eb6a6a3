import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc
import SystemPackage

/// Runs OCI hooks: each gets the container state as JSON on stdin, its own
/// args and env, and is killed when its timeout passes.
enum Hooks {
  /// Runs `hooks` in order; the first failure throws.
  static func run(_ hooks: [Spec.Hook]?, phase: String, state: ContainerState) throws(BerthError) {
    guard let hooks, !hooks.isEmpty else { return }
    let json: [UInt8]
    do {
      json = Array(try JSONEncoder().encode(state))
    } catch {
      throw BerthError(.internalError, "cannot encode state for \(phase) hooks")
    }
    for hook in hooks { try runOne(hook, phase: phase, input: json) }
  }

  /// Runs hooks whose failure the spec says only to log (poststart,
  /// poststop): a failing hook is a warning and the next one still runs.
  /// The state is built only when there is a hook to give it to: `run`
  /// and `delete` are on the container start path.
  static func runLogged(
    _ hooks: [Spec.Hook]?, phase: String, state makeState: () -> ContainerState
  ) {
    guard let hooks, !hooks.isEmpty else { return }
    let state = makeState()
    for hook in hooks {
      do {
        try run([hook], phase: phase, state: state)
      } catch {
        runtimeLogger.warning("\(error)")
      }
    }
  }

  static func runOne(_ hook: Spec.Hook, phase: String, input: [UInt8]) throws(BerthError) {
    let (readEnd, writeEnd) = try makePipe()
    let pid: pid_t
    do throws(BerthError) {
      pid = try ChildProcess.spawn(
        hook.args ?? [hook.path], path: hook.path, env: hook.env ?? [], stdin: .fd(readEnd))
    } catch {
      close(readEnd)
      close(writeEnd)
      throw BerthError(
        error.code, "\(phase) hook \(hook.path) cannot be started", hint: error.hint,
        cause: error.cause)
    }
    close(readEnd)
    // The hook may not read its stdin; a closed pipe must not kill us.
    signal(SIGPIPE, SIG_IGN)
    try? FileDescriptor(rawValue: writeEnd).writeFully(input, what: "hook stdin")
    close(writeEnd)
    let status = try wait(pid, timeoutSeconds: hook.timeout, what: "\(phase) hook \(hook.path)")
    if status != 0 {
      throw BerthError(
        .system,
        "\(phase) hook \(hook.path) failed with exit status \(exitCode(fromWaitStatus: status))",
        hint: "the hook's own output above says why")
    }
  }

  /// Waits for `pid`, killing it when `timeoutSeconds` pass.
  static func wait(_ pid: pid_t, timeoutSeconds: Int?, what: String) throws(BerthError) -> Int32 {
    guard let timeout = timeoutSeconds, timeout > 0 else { return try waitForExit(pid) }
    let pidfd = pidfdOpen(pid)
    guard pidfd >= 0 else { return try waitForExit(pid) }
    defer { close(pidfd) }
    var pfd = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
    let deadline = monotonicMilliseconds() + Int64(timeout) * 1000
    while true {
      let left = deadline - monotonicMilliseconds()
      if left <= 0 {
        kill(pid, SIGKILL)
        _ = try? waitForExit(pid)
        throw BerthError(.timeout, "\(what) timed out after \(timeout)s")
      }
      let n = poll(&pfd, 1, Int32(left))
      if n > 0 { return try waitForExit(pid) }
      if n < 0 && currentErrno != .interrupted {
        throw .system("cannot wait for \(what)", currentErrno)
      }
    }
  }
}
