import BerthSystem
import CBerth
import Glibc

/// CVE-2019-5736: a container whose entrypoint is `#!/proc/self/exe` makes
/// the kernel run the runtime's own binary inside the container, where it
/// can reopen /proc/PID/exe and overwrite the host's berth-runtime after we
/// exit. Before touching a container we therefore re-exec from a sealed,
/// read-only memfd copy of ourselves: /proc/self/exe then names the memfd,
/// which no one can write.
public enum BinaryProtection {
  /// True when this process already runs from a sealed memfd.
  public static var isProtected: Bool {
    let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    let fGetSeals: Int32 = 1034
    let sealWrite: Int32 = 0x8
    let seals = fcntl(fd, fGetSeals)
    return seals >= 0 && seals & sealWrite != 0
  }

  /// Re-executes from a sealed memfd unless already running from one;
  /// returns only if that is the case (or on failure, which is reported).
  public static func ensure(arguments: [String]) throws(BerthError) {
    if isProtected { return }
    let exe = try check("cannot open /proc/self/exe") {
      open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
    }
    defer { close(exe) }
    let st = try fileStatus(exe, what: "/proc/self/exe")
    // MFD_CLOEXEC | MFD_ALLOW_SEALING
    let memfd = try check("cannot create a memfd for the runtime binary") {
      berth_memfd_create("berth-runtime", 0x1 | 0x2)
    }
    var remaining = Int(st.st_size)
    while remaining > 0 {
      let n = sendfile(memfd, exe, nil, remaining)
      if n < 0 {
        if currentErrno == .interrupted { continue }
        let errno = currentErrno
        close(memfd)
        throw .system("cannot copy the runtime binary into a memfd", errno)
      }
      if n == 0 { break }
      remaining -= n
    }
    try check("cannot seal the runtime's memfd") { berth_seal_memfd(memfd) }
    var argv = arguments.map { strdup($0) } + [nil]
    var envp = currentEnvironment().map { strdup($0) } + [nil]
    fexecve(memfd, &argv, &envp)
    let errno = currentErrno
    close(memfd)
    throw .system("cannot re-execute the runtime from its sealed copy", errno)
  }
}
