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
    guard let external else { return try inProcess!.stats(id) }
    // Another runtime keeps its cgroup paths in its own state: read them
    // where the kernel says its init is, one directory per hierarchy.
    let pid = try external.state(id).pid
    let layout = CgroupLayout.current()
    let paths = CgroupLayout.cgroupsOf(pid: "\(pid)")
    let dirs = layout.hierarchies.compactMap { hierarchy in
      paths[layout.key(of: hierarchy)].map { hierarchy.mountPoint + $0 }
    }
    guard !dirs.isEmpty else {
      throw BerthError(.notFound, "cannot find the cgroups of container \(id.prefix(12))")
    }
    return CgroupStats.read(dirs: dirs, layout: layout)
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
