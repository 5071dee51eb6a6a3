// Rootless containers: the monitor moves into a user namespace of its own
// (its user as 0, the subordinate ids above, as the rootless image store
// unpacked the layers) and a mount namespace where it may mount the
// overlay. Maps with more than one id need the setuid newuidmap and
// newgidmap, run from outside the namespace: by the monitor's starter,
// which waits for the monitor to unshare, writes the maps, and lets it go.
import BerthOCI
import BerthRuntime
import BerthSystem
import CBerth
import Glibc

public enum RootlessNamespace {
  /// In the starter, after fork: maps `child`'s user namespace once it says so.
  public static func mapChild(
    _ child: pid_t, config: MonitorConfig, ready: Int32, go: Int32
  ) throws(BerthError) {
    var byte: UInt8 = 0
    guard read(ready, &byte, 1) == 1 else {
      throw BerthError(.system, "the monitor could not make its user namespace")
    }
    try UserNamespace.writeMaps(
      pid: child, uid: config.uidMappings ?? [], gid: config.gidMappings ?? [])
    if let pasta = config.pasta, let path = pasta.first {
      // pasta configures the namespace, then goes to the background and
      // exits when the namespace is gone; its first process returns then.
      let status = try ChildProcess.run(
        pasta + ["\(child)"], path: path, stdin: .file("/dev/null", O_RDONLY))
      guard status == 0 else {
        throw BerthError(
          .system, "pasta could not set up the container's network (exit \(status))",
          hint: "pasta needs /dev/net/tun readable and writable by you (mode 0666)")
      }
    }
    byte = 1
    _ = write(go, &byte, 1)
  }

  /// In the monitor: a new user namespace (mapped by the starter), then a
  /// private mount namespace with the container's overlay mounted.
  public static func enter(config: MonitorConfig, ready: Int32, go: Int32) throws(BerthError) {
    try check("cannot make a user namespace") { berth_unshare(Int32(BERTH_CLONE_NEWUSER)) }
    if config.pasta != nil {
      try check("cannot make a network namespace") { berth_unshare(Int32(BERTH_CLONE_NEWNET)) }
    }
    var byte: UInt8 = 1
    _ = write(ready, &byte, 1)
    guard read(go, &byte, 1) == 1 else {
      throw BerthError(
        .permissionDenied, "the user namespace's id maps could not be written",
        hint: "give your user ranges in /etc/subuid and /etc/subgid (uidmap installs newuidmap)")
    }
    try check("cannot become root in the user namespace") { berth_setresgid(0) }
    try check("cannot become root in the user namespace") { berth_setresuid(0) }
    try check("cannot make a mount namespace") { berth_unshare(Int32(BERTH_CLONE_NEWNS)) }
    try check("cannot make mounts private") { mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) }
    if let options = config.overlayOptions {
      let target = config.rootfsMount ?? ""
      try check("cannot mount the container's overlay on \(target)") {
        mount("overlay", target, "overlay", 0, options)
      }
    }
  }
}

/// A container's pasta, found by its pid file and checked by its command
/// line before it is signalled (the pid may have been reused).
public enum PastaProcess {
  public static func stop(pidFile: String) {
    guard let bytes = try? readFile(pidFile, limit: 64),
      let pid = pid_t(String(decoding: bytes.filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)),
      pid > 0, let cmdline = try? readFile("/proc/\(pid)/cmdline", limit: 65536)
    else { return }
    let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard words.contains(pidFile),
      words.first.map({ $0.hasSuffix("pasta") || $0.contains("passt") }) == true
    else { return }
    kill(pid, SIGTERM)
    unlink(pidFile)
  }
}
