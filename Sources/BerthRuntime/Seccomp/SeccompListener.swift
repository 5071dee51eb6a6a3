import BerthOCI
import BerthSystem
import CBerth
import FoundationEssentials
import Glibc

/// SCMP_ACT_NOTIFY: the listener fd made by loading the filter goes to the
/// seccomp agent listening on `linux.seccomp.listenerPath`, with the
/// container's state as the runtime spec describes (runc's format: the
/// JSON names the fds sent along, here only "seccompFd").
///
/// The container's process hands the fd to the runtime over the sync
/// socket ("seccomp", then the fd); the runtime, which knows the host pid
/// and the state, connects to the agent, sends both and answers "ok".
enum SeccompListener {
  /// The runtime spec's `ContainerProcessState`.
  struct ProcessState: Encodable {
    var ociVersion = ociRuntimeSpecVersion
    var fds: [String]
    var pid: Int32
    var metadata: String?
    var state: ContainerState
  }

  /// Container side: passes the listener to the runtime and waits until it
  /// reached the agent.
  static func handOver(_ listener: Int32, syncFD: Int32) throws(BerthError) {
    try sendMessage(syncFD, "seccomp")
    try check("cannot pass the seccomp listener fd to the runtime") {
      berth_send_fd(syncFD, listener, "fd", 2)
    }
    guard try receiveMessage(syncFD) == "ok" else {
      throw BerthError(.system, "the runtime did not pass the seccomp listener fd on")
    }
  }

  /// Runtime side, after reading "seccomp": receives the fd and sends it,
  /// with the state of process `pid`, to the agent at `program.listenerPath`.
  static func relay(
    from sock: Int32, program: SeccompProgram?, pid: pid_t, state: ContainerState
  ) throws(BerthError) {
    var buf = [CChar](repeating: 0, count: 16)
    let listener = try check("cannot receive the seccomp listener fd from the container") {
      berth_recv_fd(sock, &buf, buf.count)
    }
    defer { close(listener) }
    guard let program, let path = program.listenerPath else {
      throw BerthError(.internalError, "a seccomp listener arrived without a listenerPath")
    }
    let message = ProcessState(
      fds: ["seccompFd"], pid: pid, metadata: program.listenerMetadata, state: state)
    let json: [UInt8]
    do {
      json = Array(try JSONEncoder().encode(message))
    } catch {
      throw BerthError(.internalError, "cannot encode the seccomp agent's message: \(error)")
    }
    let agent: Int32
    do {
      agent = try Terminal.connect(socketPath: path)
    } catch {
      throw BerthError(
        error.code, "cannot connect to the seccomp agent at \(path) (linux.seccomp.listenerPath)",
        hint: "the agent must listen on that unix socket before the container starts",
        cause: error.cause)
    }
    defer { close(agent) }
    try check("cannot send the seccomp listener fd to the agent at \(path)") {
      json.withUnsafeBufferPointer { bytes in
        bytes.withMemoryRebound(to: CChar.self) {
          berth_send_fd(agent, listener, $0.baseAddress, $0.count)
        }
      }
    }
  }
}
