import BerthSystem
import CBerth
import Glibc

/// CVE-2019-5736: a container whose entrypoint is `#!/proc/self/exe` makes
/// the kernel run the runtime's own binary inside the container, where a
/// process can reopen /proc/PID/exe and overwrite the host's berth-runtime
/// once we exit. Before touching a container the runtime therefore runs
/// from a copy no one can write (the mechanics are in C, cberth.c, shared
/// with berth-runtime's start-up constructor, which usually does this
/// before Swift starts):
/// - as root, a detached read-only bind mount of the binary (open_tree +
///   mount_setattr): no copy, the page cache is shared, and writes through
///   /proc/PID/exe fail with EROFS; the mount is in no namespace's table;
/// - otherwise (rootless), a sealed memfd copy, as runc first did.
/// A binary installed on a read-only mount is protected as it is.
public enum BinaryProtection {
  /// True when /proc/self/exe cannot be written through: it sits on a
  /// read-only mount, or it is a write-sealed memfd.
  public static var isProtected: Bool { berth_exe_is_protected() == 1 }

  /// Re-executes from a protected copy unless already running from one;
  /// returns only if already protected (or throws).
  public static func ensure(arguments: [String]) throws(BerthError) {
    if isProtected { return }
    var argv = arguments.map { strdup($0) } + [nil]
    var envp = currentEnvironment().map { strdup($0) } + [nil]
    berth_reexec_protected(&argv, &envp)
    throw .system("cannot re-execute the runtime from its protected copy", currentErrno)
  }
}
