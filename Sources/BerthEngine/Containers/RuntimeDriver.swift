// Which runtime a container runs under: BerthRuntime in process (the
// default), or another OCI runtime's command line (`--runtime runc|crun|
// berth-runtime|PATH`), with its own state root under the run root.
import BerthMonitor
import BerthRuntime
import BerthSystem
import Glibc

struct RuntimeDriver {
  let inProcess: Runtime?
  let external: OCIRuntimeCommand?

  func kill(_ id: String, signal: Int32, all: Bool) throws(BerthError) {
    if let external { return try external.kill(id, signal: signal, all: all) }
    try inProcess!.kill(id, signal: signal, all: all)
  }

  func pause(_ id: String) throws(BerthError) {
    if let external { return try external.pause(id) }
    try inProcess!.pause(id)
  }

  func resume(_ id: String) throws(BerthError) {
    if let external { return try external.resume(id) }
    try inProcess!.resume(id)
  }

  func delete(_ id: String) {
    if let external { try? external.delete(id) } else { try? inProcess!.delete(id, force: true) }
  }

  func pids(_ id: String) throws(BerthError) -> [pid_t] {
    if let external {
      // Enough for `top`: the init process (the runtime's `ps` prints
      // JSON arrays in formats that differ between runtimes).
      return [try external.state(id).pid]
    }
    return try inProcess!.pids(id)
  }

  func stats(_ id: String) throws(BerthError) -> CgroupStats {
    guard let inProcess else {
      throw BerthError(
        .unsupported, "stats of a container under --runtime \(external!.path) are not supported yet"
      )
    }
    return try inProcess.stats(id)
  }
}

extension Engine {
  /// The state root for an external runtime, one per binary name.
  func externalRuntimeRoot(_ path: String) -> String { runRoot + "/oci/" + lastComponent(path) }

  func driver(_ config: ContainerConfig, id: String) -> RuntimeDriver {
    guard let name = config.runtime, let path = try? OCIRuntimeCommand.resolve(name) else {
      return RuntimeDriver(inProcess: runtime, external: nil)
    }
    let log = runDirectory(id) + "/runtime-cli.log"
    return RuntimeDriver(
      inProcess: nil,
      external: OCIRuntimeCommand(path: path, root: externalRuntimeRoot(path), log: log))
  }

  func driver(_ container: Container) -> RuntimeDriver {
    guard let config = try? container.decodedConfig() else {
      return RuntimeDriver(inProcess: runtime, external: nil)
    }
    return driver(config, id: container.id)
  }
}
