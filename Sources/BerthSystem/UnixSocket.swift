import Glibc

/// Unix stream sockets by path: the attach socket, a runtime's console
/// socket, slirp4netns's API socket. Paths can be longer than sun_path
/// allows; going through the directory's fd (/proc/self/fd/N/NAME) keeps
/// them short where we name the directory.
public enum UnixSocket {
  public static func listen(directory: String, name: String) throws(BerthError) -> Int32 {
    try withShortPath(directory: directory, name: name) {
      (path: String) throws(BerthError) -> Int32 in
      let fd = try check("cannot create a socket") {
        socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      }
      unlink(path)
      var address = try makeAddress(path)
      let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
      }
      guard bound == 0, Glibc.listen(fd, 16) == 0 else {
        let error = currentErrno
        close(fd)
        throw .system("cannot listen on \(directory)/\(name)", error)
      }
      return fd
    }
  }

  public static func connect(directory: String, name: String) throws(BerthError) -> Int32 {
    try withShortPath(directory: directory, name: name) {
      (path: String) throws(BerthError) -> Int32 in
      let fd = try check("cannot create a socket") {
        socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
      }
      var address = try makeAddress(path)
      let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
      }
      guard result == 0 else {
        let error = currentErrno
        close(fd)
        throw .system("cannot connect to \(directory)/\(name)", error)
      }
      return fd
    }
  }

  /// Connects to a socket another program made at `path`; `name` says what
  /// it is in errors, `hint` what to do when nothing listens there.
  public static func connect(_ path: String, name: String, hint: String) throws(BerthError)
    -> Int32
  {
    guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
      throw BerthError(
        .invalidArgument, "\(name) path too long: \(path)",
        hint: "a unix socket path holds at most 107 bytes; use a shorter one")
    }
    var address = try makeAddress(path)
    let fd = try check("cannot create a socket") {
      socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    if result != 0 {
      let errno = currentErrno
      close(fd)
      throw .system("cannot connect to \(name) \(path)", errno, hint: hint)
    }
    return fd
  }

  /// accept(2), the new fd close-on-exec.
  public static func accept(_ listener: Int32) -> Int32 {
    let fd = Glibc.accept(listener, nil, nil)
    if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return fd
  }

  private static func withShortPath<T>(
    directory: String, name: String, _ body: (String) throws(BerthError) -> T
  ) throws(BerthError) -> T {
    let full = directory + "/" + name
    if full.utf8.count < 100 { return try body(full) }
    let dirFD = try check("cannot open \(directory)") { open(directory, O_PATH | O_CLOEXEC) }
    defer { close(dirFD) }
    return try body("/proc/self/fd/\(dirFD)/\(name)")
  }

  private static func makeAddress(_ path: String) throws(BerthError) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      throw BerthError(.invalidArgument, "socket path \(path) is too long")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    return address
  }
}
