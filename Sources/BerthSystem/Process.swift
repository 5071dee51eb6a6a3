import CBerth
import Glibc
import SystemPackage

/// How a child ended, as a shell reports it: the exit code, or 128+N for
/// death by signal N.
public func exitCode(fromWaitStatus status: Int32) -> Int32 {
  let signal = status & 0x7f
  if signal == 0 { return (status >> 8) & 0xff }
  return 128 + signal
}

/// waitpid, retrying EINTR; returns the raw status.
public func waitForExit(_ pid: pid_t) throws(BerthError) -> Int32 {
  var status: Int32 = 0
  try check("cannot wait for process \(pid)") { waitpid(pid, &status, 0) }
  return status
}

/// The current environment as "K=V" strings.
public func currentEnvironment() -> [String] {
  var result: [String] = []
  var p = environ
  while let entry = p.pointee {
    result.append(String(cString: entry))
    p += 1
  }
  return result
}

/// Finds `name` as execvp would, in the PATH of `env`, in the current root.
/// Returns the path or the reason it is not runnable, with podman's wording
/// ("executable file not found in $PATH", "permission denied") so callers
/// map it to exit codes 127 and 126.
public func lookupExecutable(_ name: String, env: [String]) -> Result<String, BerthError> {
  func runnable(_ path: String) -> Errno? {
    var st = stat()
    guard stat(path, &st) == 0 else { return currentErrno }
    if (st.st_mode & S_IFMT) == S_IFDIR { return .isDirectory }
    return access(path, X_OK) == 0 ? nil : currentErrno
  }
  if name.contains("/") {
    if let errno = runnable(name) {
      if errno == .noSuchFileOrDirectory {
        return .failure(
          BerthError(
            .notFound, "exec: \"\(name)\": stat \(name): no such file or directory", cause: nil))
      }
      return .failure(BerthError(.permissionDenied, "exec: \"\(name)\": permission denied"))
    }
    return .success(name)
  }
  let pathVar =
    env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
    ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  var denied = false
  for dir in pathVar.split(separator: ":", omittingEmptySubsequences: false) {
    let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + name
    switch runnable(candidate) {
    case nil: return .success(candidate)
    case .permissionDenied?: denied = true
    default: continue
    }
  }
  if denied {
    return .failure(BerthError(.permissionDenied, "exec: \"\(name)\": permission denied"))
  }
  return .failure(
    BerthError(.notFound, "exec: \"\(name)\": executable file not found in $PATH"))
}

/// Marks every fd from `first` on close-on-exec, so nothing the runtime
/// inherited or opened reaches the container (CVE-2024-21626 class).
public func closeOnExecFrom(_ first: Int32) throws(BerthError) {
  if berth_close_range_cloexec(UInt32(first)) != 0 {
    // Kernels before 5.11: walk /proc/self/fd.
    for name in listDirectory("/proc/self/fd") {
      if let fd = Int32(name), fd >= first { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }
  }
}

/// A socket pair for messages between the runtime and its child.
public func seqpacketPair() throws(BerthError) -> (Int32, Int32) {
  var fds: [Int32] = [0, 0]
  try check("cannot create a socket pair") {
    socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
  }
  return (fds[0], fds[1])
}

/// Sends one message (one packet).
public func sendMessage(_ fd: Int32, _ text: String) throws(BerthError) {
  let bytes = Array(text.utf8)
  try check("cannot send to the runtime") {
    bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
  }
}

/// Receives one message; nil when the peer closed its end.
public func receiveMessage(_ fd: Int32) throws(BerthError) -> String? {
  // Messages are words and one-line errors; 16 KiB is ample (a seqpacket
  // message longer than the buffer would be cut, not split).
  var buf = [UInt8](repeating: 0, count: 16384)
  let n = try check("cannot read from the container's init") {
    buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
  }
  if n == 0 { return nil }
  return String(decoding: buf[0..<n], as: UTF8.self)
}

public func pidfdOpen(_ pid: pid_t) -> Int32 { berth_pidfd_open(pid) }

/// What the runtime reads from /proc/PID/stat: the state letter (R, S, Z,
/// ...) and the start time (field 22), which tells a live container init
/// from an unrelated process that reused its pid. One read for both.
public func processStat(_ pid: pid_t) -> (state: Character, startTime: UInt64)? {
  guard let bytes = try? readFile("/proc/\(pid)/stat", limit: 4096) else { return nil }
  let text = String(decoding: bytes, as: UTF8.self)
  // The command name may contain spaces and ')': fields start after the last ')'.
  guard let close = text.lastIndex(of: ")") else { return nil }
  let fields = text[text.index(after: close)...].split(separator: " ")
  // fields[0] is state (field 3), so field 22 is fields[19].
  guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else {
    return nil
  }
  return (state, start)
}

/// The start time of a process (see processStat).
public func processStartTime(_ pid: pid_t) -> UInt64? { processStat(pid)?.startTime }

/// A pipe with both ends close-on-exec: (read, write).
public func makePipe() throws(BerthError) -> (read: Int32, write: Int32) {
  var fds: [Int32] = [0, 0]
  try check("cannot create a pipe") { berth_pipe_cloexec(&fds) }
  return (fds[0], fds[1])
}

public func pidfdSendSignal(_ pidfd: Int32, _ signal: Int32) -> Int32 {
  berth_pidfd_send_signal(pidfd, signal)
}

/// A connected unix socket pair of `type` (a stream by default), both ends
/// close-on-exec.
public func socketPair(_ type: __socket_type = SOCK_STREAM) throws(BerthError) -> (Int32, Int32) {
  var fds: [Int32] = [0, 0]
  try check("cannot create a socket pair") {
    socketpair(AF_UNIX, Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds)
  }
  return (fds[0], fds[1])
}

/// The pid a pid file names, if that process still runs and its argv is
/// one `isOurs` accepts: a pid file outlives its process, and the kernel
/// reuses pids, so a pid alone is never signalled.
public func livePid(fromFile pidFile: String, isOurs: ([String]) -> Bool) -> pid_t? {
  guard let bytes = try? readFile(pidFile, limit: 64),
    let pid = pid_t(String(decoding: bytes.filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)),
    pid > 0, let cmdline = try? readFile("/proc/\(pid)/cmdline", limit: 65536)
  else { return nil }
  let argv = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
  return isOurs(argv) ? pid : nil
}
