// Starting the container with another OCI runtime (`--runtime`): its
// `create` gets our pipes as stdio (runc and crun pass them to the
// container), or a console socket for a terminal; the container's init is
// left to us, the subreaper, when the runtime exits.
import BerthOCI
import BerthRuntime
import BerthSystem
import CBerth
import FoundationEssentials
import Glibc

extension Monitor {
  mutating func launchExternal(
    _ oci: OCIRuntimeCommand, devNull: Int32, childEnds: inout [Int32]
  ) throws(BerthError) {
    let pidFile = runDirectory + "/container.pid"
    unlink(pidFile)
    var arguments = ["create", "--bundle", config.bundle, "--pid-file", pidFile]
    if config.terminal {
      let (directory, listener) = try ShortSocket.listen()
      defer {
        close(listener)
        ShortSocket.remove(directory)
      }
      arguments += ["--console-socket", directory + "/" + ShortSocket.name, config.id]
      try oci.run(arguments)
      master = try ShortSocket.receiveTerminal(listener)
      _ = fcntl(master, F_SETFL, O_NONBLOCK)
      output = [(master, "stdout")]
    } else {
      let (stdinRead, outWrite, errWrite) = try makeStdioPipes(
        devNull: devNull, childEnds: &childEnds)
      try oci.run(
        arguments + [config.id], stdin: .fd(stdinRead), stdout: .fd(outWrite), stderr: .fd(errWrite)
      )
    }
    let text = String(decoding: try readFile(pidFile, limit: 64), as: UTF8.self).trimmed
    guard let pid = pid_t(text) else {
      throw BerthError(.system, "\(lastComponent(oci.path)) create wrote no pid")
    }
    status.pid = pid
  }
}

/// A listening unix socket in a private directory under /tmp: runtimes
/// take a console socket by path, which must fit in sun_path.
public enum ShortSocket {
  public static let name = "console.sock"

  public static func listen() throws(BerthError) -> (directory: String, listener: Int32) {
    var template = Array("/tmp/berth-tty-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      throw .system("cannot make a directory for a console socket", currentErrno)
    }
    let directory = String(cString: made)
    do {
      return (directory, try UnixSocket.listen(directory: directory, name: name))
    } catch {
      rmdir(directory)
      throw error
    }
  }

  public static func remove(_ directory: String) {
    unlink(directory + "/" + name)
    rmdir(directory)
  }

  /// Accepts the runtime's connection and receives the pty master.
  public static func receiveTerminal(_ listener: Int32) throws(BerthError) -> Int32 {
    let connection = UnixSocket.accept(listener)
    guard connection >= 0 else {
      throw .system("cannot accept the container's terminal", currentErrno)
    }
    defer { close(connection) }
    var socketName = [CChar](repeating: 0, count: 256)
    let master = berth_recv_fd(connection, &socketName, socketName.count)
    guard master >= 0 else {
      throw .system("cannot receive the container's terminal", currentErrno)
    }
    return master
  }
}
