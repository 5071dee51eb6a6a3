// `berth exec` enters the container from this single-threaded executable
// (the berth CLI may have threads, so it never clones itself). With a
// terminal the pty master comes back over a console socket and is relayed
// to our stdio, as a foreground `run` does. With `--runtime`, the other
// runtime's `exec` does the entering.
import BerthOCI
import BerthRuntime
import BerthSystem
import CBerth
import FoundationEssentials
import Glibc

public enum ExecSession {
  /// Runs `process` in container `id`; returns its exit code (0 at once
  /// when detached).
  public static func run(
    runtimeRoot: String, id: String, process: Spec.Process, detach: Bool, socketDirectory: String,
    runtimePath: String? = nil
  ) throws(BerthError) -> Int32 {
    let pidFile = socketDirectory + "/exec-\(getpid()).pid"
    defer { unlink(pidFile) }
    if let runtimePath {
      return try external(
        OCIRuntimeCommand(
          path: runtimePath, root: runtimeRoot, log: socketDirectory + "/exec-\(getpid()).log"),
        id: id, process: process, detach: detach, pidFile: pidFile, socketDirectory: socketDirectory
      )
    }
    let runtime = Runtime(root: runtimeRoot, rootless: nil, systemdCgroup: false)
    let record = try runtime.store.load(id)
    var options = ExecOptions(id: id, process: process)
    guard process.terminal == true && !detach else {
      options.detach = detach
      return try runtime.exec(options, record: record)
    }
    let (directory, listener) = try ShortSocket.listen()
    defer {
      close(listener)
      ShortSocket.remove(directory)
    }
    options.consoleSocket = directory + "/" + ShortSocket.name
    options.pidFile = pidFile
    options.detach = true
    _ = try runtime.exec(options, record: record)
    let pid = try readPid(pidFile)
    return try relay(master: try ShortSocket.receiveTerminal(listener), pid: pid)
  }

  static func external(
    _ oci: OCIRuntimeCommand, id: String, process: Spec.Process, detach: Bool, pidFile: String,
    socketDirectory: String
  ) throws(BerthError) -> Int32 {
    let processFile = socketDirectory + "/exec-\(getpid()).json"
    defer {
      unlink(processFile)
      unlink(oci.log)
    }
    do {
      try writeFileAtomically(processFile, Array(try JSONEncoder().encode(process)), durable: false)
    } catch let error as BerthError {
      throw error
    } catch {
      throw BerthError(.internalError, "cannot encode the process: \(error)")
    }
    let base = oci.command(["exec", "--process", processFile])
    if detach {
      try oci.run(["exec", "--detach", "--process", processFile, id])
      return 0
    }
    guard process.terminal == true else {
      let status = try ChildProcess.run(base + [id])
      if status == 255, let message = oci.lastError() { throw BerthError(.system, message) }
      return status
    }
    // The runtime exits once the process runs; as subreaper we inherit and reap it.
    _ = berth_set_child_subreaper()
    let (directory, listener) = try ShortSocket.listen()
    defer {
      close(listener)
      ShortSocket.remove(directory)
    }
    try oci.run([
      "exec", "--detach", "--tty", "--console-socket", directory + "/" + ShortSocket.name,
      "--pid-file", pidFile, "--process", processFile, id,
    ])
    return try relay(master: try ShortSocket.receiveTerminal(listener), pid: try readPid(pidFile))
  }

  static func readPid(_ path: String) throws(BerthError) -> pid_t {
    guard let pid = pid_t(String(decoding: try readFile(path, limit: 64), as: UTF8.self).trimmed)
    else {
      throw BerthError(.internalError, "exec wrote no pid")
    }
    return pid
  }

  /// Relays the pty to our stdio until the process exits; its exit code.
  static func relay(master: Int32, pid: pid_t) throws(BerthError) -> Int32 {
    for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
      signal(sig) { received in if execChild > 0 { kill(execChild, received) } }
    }
    execChild = pid
    TerminalRelay.run(master: master)
    close(master)
    return exitCode(fromWaitStatus: try waitForExit(pid))
  }
}

nonisolated(unsafe) var execChild: pid_t = 0
