// Thin checked wrappers over the few Glibc calls the image code makes
// directly (fd-relative file creation, locks, xattrs). Every call is
// checked and turned into a BerthError naming the operation and its object.
import BerthSystem
import CArchive
import Glibc
import SystemPackage

enum Sys {
  /// Runs a call that returns -1 and sets errno on failure.
  @discardableResult
  static func check<T: BinaryInteger>(
    _ what: @autoclosure () -> String, hint: String? = nil, _ body: () -> T
  ) throws -> T {
    while true {
      let result = body()
      if result != -1 { return result }
      let code = errno
      if code == EINTR { continue }
      throw BerthError.system(what(), Errno(rawValue: code), hint: hint)
    }
  }

  /// The errno of a call that failed, or nil when it succeeded.
  static func attempt(_ body: () -> Int32) -> Errno? {
    while true {
      if body() != -1 { return nil }
      if errno == EINTR { continue }
      return Errno(rawValue: errno)
    }
  }

  static func openat(
    _ dirfd: Int32, _ path: String, _ flags: Int32, _ mode: mode_t = 0, what: String
  ) throws -> Int32 {
    try check(what) { carchive_openat(dirfd, path, flags | O_CLOEXEC, mode) }
  }

  static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) throws -> Int32 {
    try check("open \(path)") { carchive_openat(AT_FDCWD, path, flags | O_CLOEXEC, mode) }
  }

  static func close(_ fd: Int32) { _ = Glibc.close(fd) }

  /// Writes all of `buffer`, retrying short writes.
  static func writeAll(
    _ fd: Int32, _ buffer: UnsafeRawBufferPointer, what: @autoclosure () -> String
  )
    throws
  {
    var offset = 0
    while offset < buffer.count {
      let n = try check(what()) {
        Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
      }
      offset += n
    }
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8], what: @autoclosure () -> String) throws {
    try bytes.withUnsafeBytes { try writeAll(fd, $0, what: what()) }
  }

  /// Reads a whole file into memory, refusing anything larger than `limit`.
  static func readFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
    let fd = try open(path, O_RDONLY)
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = try chunk.withUnsafeMutableBytes { buf in
        try check("read \(path)") { Glibc.read(fd, buf.baseAddress, buf.count) }
      }
      if n == 0 { break }
      result.append(contentsOf: chunk[0..<n])
      if result.count > limit {
        throw BerthError(.invalidArgument, "\(path) is larger than \(limit) bytes")
      }
    }
    return result
  }

  /// Writes a file atomically: temp file in the same directory, fsync,
  /// rename over the target, fsync of the directory.
  static func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
    let dir = parentPath(path)
    let tmp = "\(dir)/.tmp-\(randomHex(8))-\(lastComponent(path))"
    let fd = try open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode)
    do {
      try writeAll(fd, bytes, what: "write \(tmp)")
      try check("fsync \(tmp)") { fsync(fd) }
      close(fd)
      try check("rename \(tmp) to \(path)") { rename(tmp, path) }
    } catch {
      close(fd)
      unlink(tmp)
      throw error
    }
    try fsyncDirectory(dir)
  }

  static func fsyncDirectory(_ path: String) throws {
    let fd = try open(path, O_RDONLY | O_DIRECTORY)
    defer { close(fd) }
    try check("fsync \(path)") { fsync(fd) }
  }

  static func mkdirs(_ path: String, mode: mode_t = 0o700) throws {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
      current += "/" + component
      if let error = attempt({ mkdir(current, mode) }), error != .fileExists {
        throw BerthError.system("create directory \(current)", error)
      }
    }
  }

  static func exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
  }

  static func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }

  static func fileSize(_ path: String) throws -> Int64 {
    var st = stat()
    try check("stat \(path)") { stat(path, &st) }
    return Int64(st.st_size)
  }

  /// Names in a directory, without `.` and `..`.
  static func listDirectory(_ path: String) throws -> [String] {
    guard let dir = opendir(path) else {
      throw BerthError.system("list \(path)", Errno(rawValue: errno))
    }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  /// Removes a tree without following symlinks, relative to directory fds so
  /// a concurrent rename cannot redirect it.
  static func removeTree(_ path: String) throws {
    var st = stat()
    if lstat(path, &st) != 0 {
      if errno == ENOENT { return }
      throw BerthError.system("stat \(path)", Errno(rawValue: errno))
    }
    if (st.st_mode & S_IFMT) != S_IFDIR {
      try check("remove \(path)") { unlink(path) }
      return
    }
    let fd = try open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    defer { close(fd) }
    try removeContents(fd, what: path)
    try check("remove \(path)") { rmdir(path) }
  }

  /// Empties the directory open at `fd`.
  static func removeContents(_ fd: Int32, what: String) throws {
    let dupfd = try check("dup \(what)") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    guard let dir = fdopendir(dupfd) else {
      Glibc.close(dupfd)
      throw BerthError.system("list \(what)", Errno(rawValue: errno))
    }
    defer { closedir(dir) }
    var names: [(String, Bool)] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
      }
      if name == "." || name == ".." { continue }
      names.append((name, entry.pointee.d_type == DT_DIR))
    }
    for (name, isDir) in names {
      if isDir {
        let child = try openat(
          fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, what: "open \(what)/\(name)")
        defer { close(child) }
        // A rootless layer may hold read-only directories of its owner;
        // make them writable to empty them (root ignores modes anyway).
        if geteuid() != 0 { _ = fchmod(child, 0o700) }
        try removeContents(child, what: "\(what)/\(name)")
        try check("remove \(what)/\(name)") { unlinkat(fd, name, AT_REMOVEDIR) }
      } else {
        try check("remove \(what)/\(name)") { unlinkat(fd, name, 0) }
      }
    }
  }

  static func parentPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  static func lastComponent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }

  static func randomHex(_ bytes: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<bytes).map { _ in
      let byte = UInt8.random(in: 0...255, using: &generator)
      let hex = String(byte, radix: 16)
      return byte < 16 ? "0" + hex : hex
    }.joined()
  }
}

/// An flock(2) lock on a file, released on `unlock` or when the process dies,
/// so a killed command never leaves the store locked.
final class FileLock {
  private var fd: Int32

  enum Mode { case shared, exclusive }

  init(path: String, mode: Mode) throws {
    fd = try Sys.open(path, O_RDWR | O_CREAT, 0o600)
    do {
      try Sys.check("lock \(path)") { flock(fd, mode == .shared ? LOCK_SH : LOCK_EX) }
    } catch {
      Sys.close(fd)
      throw error
    }
  }

  func unlock() {
    if fd >= 0 { Sys.close(fd) }
    fd = -1
  }

  deinit { unlock() }
}
