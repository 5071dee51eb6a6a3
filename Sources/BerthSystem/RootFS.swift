import CBerth
import Glibc

/// A container's root filesystem held by an fd. Every path inside it is
/// resolved by the kernel relative to that fd with RESOLVE_IN_ROOT, so a
/// symlink in the image (`/proc -> /`, `/etc -> ../../host`) resolves inside
/// the rootfs and never reaches the host (CVE-2019-19921, CVE-2023-27561).
public final class RootFS {
  public let fd: Int32
  public let path: String

  public init(path: String) throws(BerthError) {
    self.path = path
    fd = try check(
      "cannot open rootfs \(path)", hint: "root.path in config.json must name a directory"
    ) { Glibc.open(path, O_PATH | O_DIRECTORY | O_CLOEXEC) }
  }

  deinit { Glibc.close(fd) }

  static let inRoot = BERTH_RESOLVE_IN_ROOT | BERTH_RESOLVE_NO_MAGICLINKS

  /// Opens `inner` (absolute inside the rootfs) with `flags`; O_CLOEXEC is
  /// always added. `noSymlinks` refuses any symlink on the way.
  public func open(_ inner: String, flags: Int32 = O_PATH, noSymlinks: Bool = false)
    throws(BerthError) -> Int32
  {
    var resolve = Self.inRoot
    if noSymlinks { resolve |= BERTH_RESOLVE_NO_SYMLINKS }
    return try check("cannot open \(inner) in rootfs \(path)") {
      berth_openat2(fd, inner, UInt64(flags | O_CLOEXEC), 0, resolve)
    }
  }

  /// True when `inner` resolves (in root) to an existing object.
  public func exists(_ inner: String) -> Bool {
    let f = berth_openat2(fd, inner, UInt64(O_PATH | O_CLOEXEC), 0, Self.inRoot)
    if f >= 0 { Glibc.close(f) }
    return f >= 0
  }

  /// `mkdir -p` inside the rootfs; returns an O_PATH fd of the directory.
  /// A dangling symlink on the way is followed inside the rootfs and its
  /// target created there, as runc does.
  @discardableResult
  public func mkdirAll(_ inner: String, mode: mode_t = 0o755) throws(BerthError) -> Int32 {
    try mkdirAll(inner, mode: mode, linksLeft: 40)
  }

  func mkdirAll(_ inner: String, mode: mode_t, linksLeft: Int) throws(BerthError) -> Int32 {
    // Mount points are mostly there already (/proc, /dev, /sys/fs/cgroup):
    // one lookup in the root, not a mkdirat and an open per component.
    let existing = berth_openat2(
      fd, inner, UInt64(O_PATH | O_DIRECTORY | O_CLOEXEC), 0, Self.inRoot)
    if existing >= 0 { return existing }
    let components = inner.split(separator: "/").filter { $0 != "." }
    guard let last = components.last else {
      return try check("cannot open rootfs \(path)") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }
    // Made from the nearest directory that exists, found walking up: the
    // eleven cgroup v1 mount points under a fresh /sys/fs/cgroup each cost
    // four calls, not a mkdirat and an open of every component from /.
    let parentPath = "/" + components.dropLast().joined(separator: "/")
    let parent = try mkdirAll(parentPath, mode: mode, linksLeft: linksLeft)
    defer { Glibc.close(parent) }
    let name = String(last)
    let prefix = "/" + components.joined(separator: "/")
    // mkdirat takes one name relative to the already-resolved parent, so
    // nothing here walks a path by string.
    if mkdirat(parent, name, mode) != 0 && currentErrno != .fileExists {
      throw .system("cannot create directory \(prefix) in rootfs \(path)", currentErrno)
    }
    var made = berth_openat2(
      fd, prefix, UInt64(O_PATH | O_DIRECTORY | O_CLOEXEC), 0, Self.inRoot)
    var errno = currentErrno
    if made < 0, errno == .noSuchFileOrDirectory, linksLeft > 0,
      let target = Self.readLink(at: parent, name)
    {
      // A dangling symlink: create what it points to, inside the root.
      let resolved = target.hasPrefix("/") ? target : parentPath + "/" + target
      if let target = try? mkdirAll(resolved, mode: mode, linksLeft: linksLeft - 1) {
        Glibc.close(target)
        made = berth_openat2(
          fd, prefix, UInt64(O_PATH | O_DIRECTORY | O_CLOEXEC), 0, Self.inRoot)
        errno = currentErrno
      }
    }
    if made < 0 {
      throw .system(
        "cannot open directory \(prefix) in rootfs \(path)", errno,
        hint: errno == .notDirectory ? "a file is in the way of a mount destination" : nil)
    }
    return made
  }

  /// The target of the symlink `name` in the directory `dir`, nil when
  /// unreadable.
  public static func readLink(at dir: Int32, _ name: String) -> String? {
    var buf = [CChar](repeating: 0, count: 4097)
    let n = readlinkat(dir, name, &buf, 4096)
    guard n > 0 else { return nil }
    return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// `path` made absolute with `.` and `..` resolved by name (`..` at the
  /// top stays there), as Go's filepath.Clean does: `a/./b/../c` → `/a/c`.
  public static func clean(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/") where part != "." {
      if part == ".." {
        _ = parts.popLast()
      } else {
        parts.append(part)
      }
    }
    return "/" + parts.joined(separator: "/")
  }

  /// Splits "/a/b/c" into ("/a/b", "c").
  public static func split(_ inner: String) -> (parent: String, name: String) {
    let trimmed = inner.split(separator: "/").map(String.init)
    guard let name = trimmed.last else { return ("/", ".") }
    return ("/" + trimmed.dropLast().joined(separator: "/"), name)
  }

  /// Creates an empty regular file at `inner` if nothing is there (for a
  /// bind mount of a file) and returns an O_PATH fd of what is there.
  public func ensureFile(_ inner: String, mode: mode_t = 0o644) throws(BerthError) -> Int32 {
    if let existing = try? open(inner) { return existing }
    let (parent, name) = Self.split(inner)
    let dir = try mkdirAll(parent)
    defer { Glibc.close(dir) }
    // openat on an O_PATH directory fd creates in that directory.
    let created = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode)
    if created >= 0 {
      Glibc.close(created)
    } else if currentErrno != .fileExists {
      throw .system("cannot create \(inner) in rootfs \(path)", currentErrno)
    }
    return try open(inner)
  }

  /// Creates a directory at `inner` if missing and returns its O_PATH fd.
  public func ensureDirectory(_ inner: String) throws(BerthError) -> Int32 {
    try mkdirAll(inner)
  }

  /// The kind of object at `inner`, without following a final symlink.
  public func fileType(_ inner: String) -> mode_t? {
    guard let f = try? open(inner, flags: O_PATH | O_NOFOLLOW) else { return nil }
    defer { Glibc.close(f) }
    var st = stat()
    guard fstat(f, &st) == 0 else { return nil }
    return st.st_mode & S_IFMT
  }
}

/// fstat of an fd, checked.
public func fileStatus(_ fd: Int32, what: String) throws(BerthError) -> stat {
  var st = stat()
  try check("cannot stat \(what)") { fstat(fd, &st) }
  return st
}

public func major(_ dev: dev_t) -> UInt32 {
  UInt32((dev >> 8) & 0xfff) | UInt32((dev >> 32) & ~0xfff)
}
public func minor(_ dev: dev_t) -> UInt32 { UInt32(dev & 0xff) | UInt32((dev >> 12) & ~0xff) }
public func makedev(_ major: UInt32, _ minor: UInt32) -> dev_t {
  (dev_t(major & 0xfff) << 8) | (dev_t(major & ~0xfff) << 32) | dev_t(minor & 0xff)
    | (dev_t(minor & ~0xff) << 12)
}

extension RootFS {
  /// Copies the rootfs's `path` (resolved in the rootfs by fd, so a
  /// symlink in the image cannot point the copy at the host) into `target`
  /// when `target` is empty, owners and modes kept: docker's fill of a new
  /// volume from the image. Nothing at `path` leaves `target` as it is.
  public static func fillEmpty(_ target: String, from rootfs: String, path: String)
    throws(BerthError)
  {
    guard let entries = try? directoryEntries(target), entries.isEmpty else { return }
    let root = try RootFS(path: rootfs)
    guard let fd = try? root.open(path, flags: O_RDONLY | O_DIRECTORY) else { return }
    defer { close(fd) }
    let status = try ChildProcess.run(
      ["cp", "-a", "--", "/proc/\(getpid())/fd/\(fd)/.", target + "/"], path: "/bin/cp",
      stdout: .file("/dev/null", O_WRONLY))
    guard status == 0 else {
      throw BerthError(
        .system, "cannot copy the image's \(path) into the volume at \(target)",
        hint: "check the space left there, or mount the volume with nocopy")
    }
  }

  /// `chown -R -h uid:gid path` (the `:U` volume option).
  public static func chownTree(_ path: String, uid: UInt32, gid: UInt32) throws(BerthError) {
    let status = try ChildProcess.run(
      ["chown", "-R", "-h", "\(uid):\(gid)", "--", path], path: "/bin/chown")
    guard status == 0 else {
      throw BerthError(
        .system, "cannot give \(path) to \(uid):\(gid) (:U)",
        hint: "check that the path is yours to change, or drop :U")
    }
  }
}
