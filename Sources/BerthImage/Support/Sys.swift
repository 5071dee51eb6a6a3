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

  static func fileSize(_ path: String) throws -> Int64 {
    var st = stat()
    try check("stat \(path)") { stat(path, &st) }
    return Int64(st.st_size)
  }

  // The file helpers live in BerthSystem (shared with the runtime); these
  // forward to them for the image code's untyped-throws call sites.
  static func readFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
    try BerthSystem.readFile(path, limit: limit)
  }
  /// Writes `bytes` over `path` (made if missing) without a new inode:
  /// for a file nothing reads until the write is done.
  static func writeFileInPlace(_ path: String, _ bytes: [UInt8]) throws {
    let fd = try check("open \(path)") {
      Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }
    defer { close(fd) }
    try FileDescriptor(rawValue: fd).writeFully(bytes, what: path)
  }

  static func writeFileAtomically(
    _ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true
  ) throws {
    try BerthSystem.writeFileAtomically(path, bytes, mode: mode, durable: durable)
  }
  static func fsyncDirectory(_ path: String) throws { try BerthSystem.fsyncDirectory(path) }
  static func mkdirs(_ path: String, mode: mode_t = 0o700) throws {
    try BerthSystem.mkdirAll(path, mode: mode)
  }
  static func exists(_ path: String) -> Bool { fileExists(path) }
  static func isDirectory(_ path: String) -> Bool { BerthSystem.isDirectory(path) }
  static func listDirectory(_ path: String) throws -> [String] { try directoryEntries(path) }
  static func removeTree(_ path: String) throws { try BerthSystem.removeTree(path) }
  static func removeContents(_ fd: Int32, what: String) throws {
    try BerthSystem.removeContents(fd, what: what)
  }
  static func parentPath(_ path: String) -> String { BerthSystem.parentPath(path) }
  static func lastComponent(_ path: String) -> String { BerthSystem.lastComponent(path) }

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
