// `berth exec` enters the container from this single-threaded executable
// (the berth CLI may have threads, so it never clones itself). With a
// terminal the pty master comes back over a console socket and is relayed
// to our stdio, as a foreground `run` does.
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
    runtimeRoot: String, id: String, process: Spec.Process, detach: Bool, socketDirectory: String
  ) throws(BerthError) -> Int32 {
    let runtime = Runtime(root: runtimeRoot, rootless: nil, systemdCgroup: false)
    let record = try runtime.store.load(id)
    var options = ExecOptions(id: id, process: process)
    guard process.terminal == true && !detach else {
      options.detach = detach
      return try runtime.exec(options, record: record)
    }
    // The runtime takes the console socket by path, which must fit in
    // sun_path: a private directory of our own under /tmp keeps it short.
    var template = Array("/tmp/berth-exec-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      throw .system("cannot make a directory for the exec's terminal", currentErrno)
    }
    let shortDirectory = String(cString: made)
    let name = "console.sock"
    let listener = try UnixSocket.listen(directory: shortDirectory, name: name)
    defer {
      close(listener)
      unlink(shortDirectory + "/" + name)
      rmdir(shortDirectory)
    }
    let pidFile = socketDirectory + "/exec-\(getpid()).pid"
    defer { unlink(pidFile) }
    options.consoleSocket = shortDirectory + "/" + name
    options.pidFile = pidFile
    options.detach = true
    _ = try runtime.exec(options, record: record)
    guard let pid = pid_t(String(decoding: try readFile(pidFile, limit: 64), as: UTF8.self).trimmed)
    else {
      throw BerthError(.internalError, "exec wrote no pid")
    }
    let connection = UnixSocket.accept(listener)
    guard connection >= 0 else { throw .system("cannot accept the exec's terminal", currentErrno) }
    var socketName = [CChar](repeating: 0, count: 256)
    let master = berth_recv_fd(connection, &socketName, socketName.count)
    close(connection)
    guard master >= 0 else { throw .system("cannot receive the exec's terminal", currentErrno) }
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
