import CBerth
import Glibc
import SystemPackage

/// Runs a system call that returns -1 and sets errno on failure, retrying on
/// EINTR, and turns a failure into a `BerthError` naming `what`.
@inline(__always)
@discardableResult
public func check<T: FixedWidthInteger>(
  _ what: @autoclosure () -> String, hint: String? = nil, _ call: () -> T
) throws(BerthError) -> T {
  while true {
    let result = call()
    if result != -1 { return result }
    let errno = Errno(rawValue: Glibc.errno)
    if errno == .interrupted { continue }
    throw .system(what(), errno, hint: hint)
  }
}

/// The current errno as a typed value.
public var currentErrno: Errno { Errno(rawValue: Glibc.errno) }

extension FileDescriptor {
  /// Writes the whole buffer, retrying short writes and EINTR.
  public func writeFully(_ bytes: some Sequence<UInt8>, what: String) throws(BerthError) {
    let array = Array(bytes)
    do {
      _ = try array.withUnsafeBytes { try self.writeAll($0) }
    } catch let errno as Errno {
      throw .system(what, errno)
    } catch {
      throw BerthError(.system, what)
    }
  }

  public func writeFully(_ string: String, what: String) throws(BerthError) {
    try writeFully(Array(string.utf8), what: what)
  }

  /// Reads until end of file.
  public func readToEnd(what: String, limit: Int = 64 << 20) throws(BerthError) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = try check(what) {
        chunk.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, $0.count) }
      }
      if n == 0 { return out }
      out.append(contentsOf: chunk[0..<n])
      if out.count > limit {
        throw BerthError(.invalidArgument, "\(what): larger than \(limit) bytes")
      }
    }
  }
}

/// Reads a whole file by path (host paths only, never inside a rootfs).
public func readFile(_ path: String, limit: Int = 64 << 20) throws(BerthError) -> [UInt8] {
  let fd = try check("cannot open \(path)") { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
  defer { Glibc.close(fd) }
  return try FileDescriptor(rawValue: fd).readToEnd(what: "cannot read \(path)", limit: limit)
}

/// Writes a file atomically: a temp file in the same directory (a random
/// name, O_EXCL: threads and processes never share one), then rename, so a
/// reader sees the old content or the new, never a part. `durable` adds an
/// fsync of the file before the rename and of the directory after it, for
/// files that must survive a power loss; runtime state (on /run, and
/// meaningless after a reboot since the processes are gone) skips that cost.
public func writeFileAtomically(
  _ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, durable: Bool = true
) throws(BerthError) {
  let dir = parentPath(path)
  let tmp =
    dir + "/.tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))-" + lastComponent(path)
  let fd = try check("cannot create \(tmp)") {
    Glibc.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
  }
  do {
    try FileDescriptor(rawValue: fd).writeFully(bytes, what: "cannot write \(tmp)")
    if durable { try check("cannot fsync \(tmp)") { fsync(fd) } }
  } catch {
    Glibc.close(fd)
    unlink(tmp)
    throw error
  }
  Glibc.close(fd)
  do {
    try check("cannot rename \(tmp) to \(path)") { rename(tmp, path) }
  } catch {
    unlink(tmp)
    throw error
  }
  if durable { try fsyncDirectory(dir) }
}

public func fsyncDirectory(_ path: String) throws(BerthError) {
  let fd = try check("cannot open \(path)") { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
  defer { Glibc.close(fd) }
  try check("cannot fsync \(path)") { fsync(fd) }
}

/// "/a/b/c" → "/a/b"; "c" → ".".
public func parentPath(_ path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "." }
  return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// "/a/b/c" → "c".
public func lastComponent(_ path: String) -> String {
  String(path.split(separator: "/").last ?? "")
}

/// Writes a small string to an existing file such as a /proc or cgroup knob.
public func writeKnob(_ path: String, _ value: String) throws(BerthError) {
  let fd = try check("cannot open \(path)") { Glibc.open(path, O_WRONLY | O_CLOEXEC) }
  defer { Glibc.close(fd) }
  try FileDescriptor(rawValue: fd).writeFully(value, what: "cannot write \"\(value)\" to \(path)")
}

public func fileExists(_ path: String) -> Bool {
  var st = stat()
  return lstat(path, &st) == 0
}

public func isDirectory(_ path: String) -> Bool {
  var st = stat()
  return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
}

/// Creates a directory and its parents on the host (never inside a rootfs:
/// there, use `RootFS.mkdirAll`, which resolves in-root by fd).
/// The leaf is tried first: its parents usually exist already. Returns the
/// directories it made, parents first (for a caller that undoes them).
@discardableResult
public func mkdirAll(_ path: String, mode: mode_t = 0o755) throws(BerthError) -> [String] {
  let components = path.split(separator: "/")
  guard !components.isEmpty else { return [] }
  // By hand, and with whole strings: `joined(separator:)` and
  // `append(contentsOf:)` over substrings look an associated type up at run
  // time, and a first lookup scans every conformance record of the binary.
  var normalised = ""
  for component in components {
    if !normalised.isEmpty || path.hasPrefix("/") { normalised += "/" }
    normalised += String(component)
  }
  if mkdir(normalised, mode) == 0 { return [normalised] }
  if currentErrno == .fileExists { return [] }
  guard currentErrno == .noSuchFileOrDirectory, components.count > 1 else {
    throw .system("cannot create directory \(normalised)", currentErrno)
  }
  var made = try mkdirAll(parentPath(normalised), mode: mode)
  if mkdir(normalised, mode) == 0 {
    made.append(normalised)
  } else if currentErrno != .fileExists {
    throw .system("cannot create directory \(normalised)", currentErrno)
  }
  return made
}

/// Removes a tree on the host without following symlinks, walking it by
/// directory fds so a concurrent rename cannot redirect the removal.
/// Nothing there is not an error.
public func removeTree(_ path: String) throws(BerthError) {
  var st = stat()
  if lstat(path, &st) != 0 {
    if currentErrno == .noSuchFileOrDirectory { return }
    throw .system("cannot stat \(path)", currentErrno)
  }
  if (st.st_mode & S_IFMT) != S_IFDIR {
    try check("cannot remove \(path)") { unlink(path) }
    return
  }
  let fd = try check("cannot open \(path)") {
    Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
  }
  defer { Glibc.close(fd) }
  try removeContents(fd, what: path)
  try check("cannot remove \(path)") { rmdir(path) }
}

/// The entries of the directory open at `fd` (no . and ..), with their
/// d_type; `fd` stays open and is not moved.
public func directoryEntries(fd: Int32, what: String) throws(BerthError) -> [(
  name: String, isDirectory: Bool
)] {
  let dupfd = try check("cannot duplicate the fd of \(what)") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
  guard let dir = fdopendir(dupfd) else {
    let errno = currentErrno
    Glibc.close(dupfd)
    throw .system("cannot list \(what)", errno)
  }
  defer { closedir(dir) }
  var entries: [(name: String, isDirectory: Bool)] = []
  while let entry = readdir(dir) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
      String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
    }
    if name != "." && name != ".." { entries.append((name, entry.pointee.d_type == DT_DIR)) }
  }
  return entries
}

/// Empties the directory open at `fd`, recursively, by fd.
public func removeContents(_ fd: Int32, what: String) throws(BerthError) {
  for entry in try directoryEntries(fd: fd, what: what) {
    if entry.isDirectory {
      let child = openat(fd, entry.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if child >= 0 {
        defer { Glibc.close(child) }
        // A rootless tree may hold read-only directories of its owner: make
        // them writable to empty them (root ignores modes anyway).
        if geteuid() != 0 { _ = fchmod(child, 0o700) }
        try removeContents(child, what: what + "/" + entry.name)
      }
      try check("cannot remove \(what)/\(entry.name)") { unlinkat(fd, entry.name, AT_REMOVEDIR) }
    } else {
      try check("cannot remove \(what)/\(entry.name)") { unlinkat(fd, entry.name, 0) }
    }
  }
}

/// Names of the entries of a directory (no . and ..).
public func directoryEntries(_ path: String) throws(BerthError) -> [String] {
  guard let dir = opendir(path) else { throw .system("cannot list \(path)", currentErrno) }
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

/// Names of the entries of a directory, empty if unreadable.
public func listDirectory(_ path: String) -> [String] {
  (try? directoryEntries(path)) ?? []
}

/// O_PATH, which Swift's Glibc module hides behind _GNU_SOURCE.
// swift-format-ignore: AlwaysUseLowerCamelCase
public let O_PATH: Int32 = BERTH_O_PATH

/// This host's name (uname's nodename), nil when it has none.
public func hostName() -> String? {
  var buffer = [CChar](repeating: 0, count: 256)
  guard gethostname(&buffer, buffer.count - 1) == 0, buffer[0] != 0 else { return nil }
  return String(cString: buffer)
}
