import BerthSystem
import CBerth
import Glibc

/// CVE-2019-5736: a container whose entrypoint is `#!/proc/self/exe` makes
/// the kernel run the runtime's own binary inside the container, where a
/// process can reopen /proc/PID/exe and overwrite the host's berth-runtime
/// once we exit. Before touching a container the runtime therefore re-execs
/// itself from a copy no one can write:
/// - as root, a detached read-only bind mount of the binary (open_tree +
///   mount_setattr): no copy, the page cache is shared, and writes through
///   /proc/PID/exe fail with EROFS; the mount is in no namespace's table;
/// - otherwise (rootless), a sealed memfd copy, as runc first did.
public enum BinaryProtection {
  /// True when /proc/self/exe cannot be written through: it sits on a
  /// read-only mount, or it is a write-sealed memfd.
  public static var isProtected: Bool {
    var vfs = statvfs()
    if statvfs("/proc/self/exe", &vfs) == 0 && vfs.f_flag & UInt(ST_RDONLY) != 0 { return true }
    let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let getSeals: Int32 = 1034  // F_GET_SEALS
    let sealWrite: Int32 = 0x8  // F_SEAL_WRITE
    let seals = fcntl(fd, getSeals)
    return seals >= 0 && seals & sealWrite != 0
  }

  /// Re-executes from a protected copy unless already running from one;
  /// returns only if already protected (or throws).
  public static func ensure(arguments: [String]) throws(BerthError) {
    if isProtected { return }
    var fd = berth_open_readonly_clone("/proc/self/exe")
    if fd < 0 { fd = try sealedCopy() }
    var argv = arguments.map { strdup($0) } + [nil]
    var envp = currentEnvironment().map { strdup($0) } + [nil]
    fexecve(fd, &argv, &envp)
    let errno = currentErrno
    close(fd)
    throw .system("cannot re-execute the runtime from its protected copy", errno)
  }

  static func sealedCopy() throws(BerthError) -> Int32 {
    let exe = try check("cannot open /proc/self/exe") {
      open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
    }
    defer { close(exe) }
    let st = try fileStatus(exe, what: "/proc/self/exe")
    let flags: UInt32 = 0x1 | 0x2  // MFD_CLOEXEC | MFD_ALLOW_SEALING
    let memfd = try check("cannot create a memfd for the runtime binary") {
      berth_memfd_create("berth-runtime", flags)
    }
    var remaining = Int(st.st_size)
    while remaining > 0 {
      let n = sendfile(memfd, exe, nil, remaining)
      if n < 0 && currentErrno == .interrupted { continue }
      if n <= 0 {
        let errno = currentErrno
        close(memfd)
        throw .system("cannot copy the runtime binary into a memfd", errno)
      }
      remaining -= n
    }
    try check("cannot seal the runtime's memfd") { berth_seal_memfd(memfd) }
    return memfd
  }
}
