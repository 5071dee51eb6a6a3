// Unpacks one layer (a tar stream, compressed with gzip, zstd or xz, or not
// at all) into a directory, with libarchive reading and Berth writing.
//
// Two libarchive readers are chained: the outer one only decompresses (raw
// format), and every decompressed byte goes through SHA-256 on its way to
// the inner tar reader, so the diff id is verified in the same single pass.
//
// Safety: every file is created relative to an open directory fd; parent
// directories are opened one component at a time with O_NOFOLLOW, so an
// entry can never reach through a symlink, and names with `..` or a leading
// `/` are refused. Whiteouts become overlayfs whiteouts (char device 0:0)
// and opaque markers become the overlay opaque xattr.
import BerthOCI
import BerthSystem
import CArchive
import Glibc
import SystemPackage

public struct UnpackOptions: Sendable {
  /// Refuse device nodes, skip chown and privileged xattrs, mark opaque
  /// directories with user.overlay.opaque (for overlay's `userxattr`).
  public var rootless: Bool
  /// Layer name used in messages.
  public var name: String
  /// Write whiteouts as empty files marked with user.overlay.whiteout (the
  /// "xwhiteouts" of Linux 6.7+) instead of 0:0 character devices. Done
  /// anyway when rootless and mknod is not permitted (no user namespace).
  public var xattrWhiteouts: Bool
  /// Give files the owners the layer names. True as root; rootless, true
  /// only inside a user namespace that maps the image's IDs (subordinate
  /// IDs), where file capabilities are kept too.
  public var chown: Bool
  /// Read `.wh.` entries as whiteouts (a layer) or as plain names (an
  /// archive copied into a container, `berth cp`).
  public var whiteouts = true
  /// Carry whiteouts out instead of recording them: remove what they name
  /// (and an opaque directory's contents). For layers applied in order onto
  /// one tree: an overlay's merged view (which records the removal itself)
  /// or a plain directory (`build -o type=local`).
  public var applyWhiteouts = false
  /// Refuse an entry that would replace a directory with a non-directory
  /// or the reverse (docker's noOverwriteDirNonDir, which `docker cp` sets).
  public var keepDirectoryKinds = false
  /// Owners are translated through these maps (inside → outside), for a
  /// container whose user namespace is not the store's: the copy of a
  /// layer its files must have to show the image's owners inside. An
  /// owner the maps leave out becomes 65534, as the kernel shows it.
  public var idMaps: IDMaps?

  public init(rootless: Bool, name: String, xattrWhiteouts: Bool = false, chown: Bool? = nil) {
    self.rootless = rootless
    self.name = name
    self.xattrWhiteouts = xattrWhiteouts
    self.chown = chown ?? !rootless
  }
}

public struct UnpackResult: Sendable {
  public var diffID: Digest
  /// Bytes of the uncompressed tar stream.
  public var tarSize: Int64
  /// Bytes of regular file content written.
  public var contentSize: Int64
}

/// State shared with the C read callback of the inner (tar) reader.
private final class DecompressedStream {
  let outer: OpaquePointer
  let buffer: UnsafeMutableRawBufferPointer
  var hasher = Hasher()
  var total: Int64 = 0
  var failure: String?

  init(outer: OpaquePointer) {
    self.outer = outer
    buffer = .allocate(byteCount: 1 << 20, alignment: 16)
  }

  deinit { buffer.deallocate() }

  /// Reads the next decompressed chunk into `buffer`; 0 at the end.
  func next() -> Int {
    let n = archive_read_data(outer, buffer.baseAddress, buffer.count)
    if n < 0 {
      failure = archiveMessage(outer)
      return -1
    }
    if n > 0 {
      hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
      total += Int64(n)
    }
    return n
  }
}

private func archiveMessage(_ archive: OpaquePointer?) -> String {
  guard let archive, let text = archive_error_string(archive) else { return "unknown error" }
  return String(cString: text)
}

private let readCallback:
  @convention(c) (
    OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?
  ) -> la_ssize_t = { _, context, out in
    let stream = Unmanaged<DecompressedStream>.fromOpaque(context!).takeUnretainedValue()
    let n = stream.next()
    out?.pointee = UnsafeRawPointer(stream.buffer.baseAddress)
    return la_ssize_t(n)
  }

public enum LayerUnpacker {
  /// Unpacks the layer blob at `blob` into the existing, empty `directory`.
  public static func unpack(blob: String, into directory: String, options: UnpackOptions) throws
    -> UnpackResult
  {
    let root = try Sys.open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    defer { Sys.close(root) }
    return try unpack(blob: blob, intoDirectoryFD: root, options: options)
  }

  /// Unpacks into the directory open at `root` (resolved by the caller, as
  /// `berth cp` resolves a path inside a container's rootfs).
  public static func unpack(blob: String, intoDirectoryFD root: Int32, options: UnpackOptions)
    throws
    -> UnpackResult
  {
    guard let outer = archive_read_new() else {
      throw BerthError(.internalError, "libarchive: cannot allocate a reader")
    }
    defer { archive_read_free(outer) }
    archive_read_support_filter_all(outer)
    archive_read_support_format_raw(outer)
    guard archive_read_open_filename(outer, blob, 1 << 20) == ARCHIVE_OK else {
      throw BerthError(
        .invalidArgument, "layer \(options.name): cannot open \(blob): \(archiveMessage(outer))")
    }
    var rawEntry: OpaquePointer?
    guard archive_read_next_header(outer, &rawEntry) == ARCHIVE_OK else {
      throw BerthError(
        .invalidArgument,
        "layer \(options.name) is not a readable stream: \(archiveMessage(outer))",
        hint: "the blob is truncated or not tar, gzip, zstd or xz")
    }

    let stream = DecompressedStream(outer: outer)
    guard let inner = archive_read_new() else {
      throw BerthError(.internalError, "libarchive: cannot allocate a reader")
    }
    defer { archive_read_free(inner) }
    archive_read_support_format_tar(inner)
    let context = Unmanaged.passUnretained(stream).toOpaque()
    let opened = withExtendedLifetime(stream) {
      archive_read_open(inner, context, nil, readCallback, nil)
    }
    guard opened == ARCHIVE_OK else {
      throw BerthError(
        .invalidArgument,
        "layer \(options.name) is not a tar stream: \(stream.failure ?? archiveMessage(inner))",
        hint: "the blob is truncated, corrupt or of an unknown format")
    }

    var writer = TreeWriter(root: root, options: options)
    defer { writer.closeCache() }

    var entry: OpaquePointer?
    while true {
      let status = withExtendedLifetime(stream) { archive_read_next_header(inner, &entry) }
      if status == ARCHIVE_EOF { break }
      guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
        throw BerthError(
          .invalidArgument,
          "layer \(options.name): bad tar stream: \(stream.failure ?? archiveMessage(inner))",
          hint: "the blob is truncated or corrupt; nothing of it is kept")
      }
      try withExtendedLifetime(stream) { try writer.apply(entry, archive: inner) }
    }
    // The tar reader stops at the end-of-archive marker; hash what follows.
    while true {
      let n = stream.next()
      if n == 0 { break }
      if n < 0 {
        throw BerthError(
          .invalidArgument,
          "layer \(options.name): bad compressed stream: \(stream.failure ?? "")",
          hint: "the blob is truncated or corrupt")
      }
    }
    try writer.finishDirectories()
    return UnpackResult(
      diffID: stream.hasher.finalize(), tarSize: stream.total, contentSize: writer.contentSize)
  }
}

/// A path inside the layer, split into components of raw bytes (names need
/// not be UTF-8), each null-terminated for the system calls.
private struct EntryPath {
  var components: [[CChar]]
  var display: String

  var parent: ArraySlice<[CChar]> { components.dropLast() }
  var name: [CChar] { components.last! }
}

private struct TreeWriter {
  let root: Int32
  let options: UnpackOptions
  var contentSize: Int64 = 0
  /// The last opened parent directory, reused while entries stay in it.
  var cachedKey: [[CChar]]?
  var cachedFD: Int32 = -1
  /// Directories whose times are set at the end, when nothing more is
  /// written into them.
  var directories: [(EntryPath, timespec, mode_t)] = []
  /// Mode of the layer root from a "./" entry, applied last when rootless.
  var rootMode: mode_t?

  init(root: Int32, options: UnpackOptions) {
    self.root = root
    self.options = options
  }

  func refuse(_ path: String, _ why: String) -> BerthError {
    BerthError(
      .invalidArgument, "layer \(options.name): entry \"\(path)\" \(why)",
      hint: "the image is malformed or malicious; the layer was not unpacked")
  }

  mutating func closeCache() {
    if cachedFD >= 0 { Sys.close(cachedFD) }
    cachedFD = -1
    cachedKey = nil
  }

  /// Splits and checks a tar path: no absolute paths, no `..`.
  func parse(_ raw: UnsafePointer<CChar>?) throws -> EntryPath? {
    guard let raw else { throw refuse("", "has no name") }
    let bytes = Array(UnsafeBufferPointer(start: raw, count: strlen(raw)))
    let display = String(decoding: bytes.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if bytes.first == 0x2F { throw refuse(display, "is an absolute path") }
    var components: [[CChar]] = []
    for part in bytes.split(separator: 0x2F, omittingEmptySubsequences: true) {
      if part.count == 1 && part[part.startIndex] == 0x2E { continue }
      if part.count == 2 && part.allSatisfy({ $0 == 0x2E }) {
        throw refuse(display, "has a `..` component")
      }
      components.append(Array(part) + [0])
    }
    return components.isEmpty ? nil : EntryPath(components: components, display: display)
  }

  /// Opens the directory holding `path`'s last component, creating missing
  /// parents (0755, as other engines do), never following a symlink. The
  /// result is cached until the next call with another parent.
  mutating func parentFD(_ path: EntryPath) throws -> Int32 {
    let key = Array(path.parent)
    if key.isEmpty { return root }
    if let cachedKey, cachedKey == key { return cachedFD }
    closeCache()
    cachedFD = try walk(key, create: true, display: path.display)
    cachedKey = key
    return cachedFD
  }

  /// Opens `components` below the root one at a time with O_NOFOLLOW; the
  /// caller closes the result unless it is `root`.
  func walk(_ components: [[CChar]], create: Bool, display: String) throws -> Int32 {
    var current = root
    for component in components {
      var next = openat(
        current, component, BerthSystem.O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if next < 0 && errno == ENOENT && create {
        if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
          let code = errno
          if current != root { Sys.close(current) }
          throw BerthError.system(
            "layer \(options.name): create parent of \"\(display)\"", Errno(rawValue: code))
        }
        next = openat(current, component, BerthSystem.O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      }
      let code = errno
      if current != root { Sys.close(current) }
      if next < 0 {
        if code == ELOOP || code == ENOTDIR {
          throw refuse(display, "goes through a symlink or a non-directory")
        }
        if code == ENOENT { throw refuse(display, "refers to a directory not in this layer") }
        throw BerthError.system(
          "layer \(options.name): open parent of \"\(display)\"", Errno(rawValue: code))
      }
      current = next
    }
    return current
  }

  /// Removes whatever is at `name` in `parent` (a directory recursively).
  mutating func removeExisting(_ parent: Int32, _ name: [CChar], display: String) throws {
    var st = stat()
    guard fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
      if errno == ENOENT { return }
      throw BerthError.system("layer \(options.name): stat \"\(display)\"", Errno(rawValue: errno))
    }
    if (st.st_mode & S_IFMT) == S_IFDIR {
      // The raw name: it need not be UTF-8.
      let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      guard fd >= 0 else {
        throw BerthError.system(
          "layer \(options.name): open \"\(display)\"", Errno(rawValue: errno))
      }
      defer { Sys.close(fd) }
      try Sys.removeContents(fd, what: display)
      try Sys.check("layer \(options.name): remove \"\(display)\"") {
        unlinkat(parent, name, AT_REMOVEDIR)
      }
      // A cached parent may have been inside what was removed.
      if parent != cachedFD { closeCache() }
    } else {
      try Sys.check("layer \(options.name): remove \"\(display)\"") { unlinkat(parent, name, 0) }
    }
  }

  mutating func apply(_ entry: OpaquePointer, archive: OpaquePointer) throws {
    guard let path = try parse(archive_entry_pathname(entry)) else {
      // The layer root itself ("./"): keep its mode and owner only; rootless,
      // a read-only mode is applied at the end like other directories'.
      if archive_entry_filetype(entry) == S_IFDIR {
        let mode = archive_entry_perm(entry) & 0o7777
        try applyMetadata(
          fd: root, entry: entry, display: ".", mode: options.rootless ? mode | 0o700 : mode)
        rootMode = mode
      }
      return
    }
    let name = path.name
    let nameBytes = name.dropLast().map { UInt8(bitPattern: $0) }
    let whiteoutPrefix: [UInt8] = Array(".wh.".utf8)
    if options.whiteouts && nameBytes.starts(with: whiteoutPrefix) {
      try whiteout(path, Array(nameBytes.dropFirst(4)))
      return
    }
    let parent = try parentFD(path)

    if options.keepDirectoryKinds {
      var st = stat()
      if fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
        let wasDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        let isDirectory =
          archive_entry_hardlink(entry) == nil && archive_entry_filetype(entry) == S_IFDIR
        if wasDirectory != isDirectory {
          throw BerthError(
            .invalidArgument,
            wasDirectory
              ? "cannot overwrite directory \"\(path.display)\" with non-directory"
              : "cannot overwrite non-directory \"\(path.display)\" with directory",
            hint: "remove or rename what is in the container first")
        }
      }
    }

    if let link = archive_entry_hardlink(entry) {
      guard let target = try parse(link) else { throw refuse(path.display, "links to the root") }
      // Resolve the target's directory in-root too; it must already exist.
      let targetParent = try walk(Array(target.parent), create: false, display: target.display)
      defer { if targetParent != root { Sys.close(targetParent) } }
      try removeExisting(parent, name, display: path.display)
      let linked = linkat(targetParent, target.name, parent, name, 0)
      if linked != 0 {
        let code = errno
        throw refuse(
          path.display,
          "is a hard link to \"\(target.display)\", which is not in this layer "
            + "(\(Errno(rawValue: code).description.lowercased()))")
      }
      return
    }

    let type = archive_entry_filetype(entry)
    switch type {
    case S_IFDIR:
      var st = stat()
      let exists = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0
      if exists && (st.st_mode & S_IFMT) != S_IFDIR {
        try removeExisting(parent, name, display: path.display)
      }
      if !exists || (st.st_mode & S_IFMT) != S_IFDIR {
        try Sys.check("layer \(options.name): create directory \"\(path.display)\"") {
          mkdirat(parent, name, 0o700)
        }
      }
      let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      guard fd >= 0 else {
        throw BerthError.system(
          "layer \(options.name): open directory \"\(path.display)\"", Errno(rawValue: errno))
      }
      defer { Sys.close(fd) }
      // Rootless, the owner-write bit is kept until the end so that entries
      // can still be created in a read-only directory (root ignores modes).
      let mode = archive_entry_perm(entry) & 0o7777
      try applyMetadata(
        fd: fd, entry: entry, display: path.display,
        mode: options.rootless ? mode | 0o700 : mode)
      directories.append((path, mtime(entry), mode))

    case S_IFREG:
      try removeExisting(parent, name, display: path.display)
      let fd = openat(
        parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
      guard fd >= 0 else {
        throw BerthError.system(
          "layer \(options.name): create \"\(path.display)\"", Errno(rawValue: errno))
      }
      defer { Sys.close(fd) }
      try copyData(archive: archive, to: fd, entry: entry, display: path.display)
      try applyMetadata(fd: fd, entry: entry, display: path.display)
      var times = [mtime(entry), mtime(entry)]
      try Sys.check("layer \(options.name): set times of \"\(path.display)\"") {
        futimens(fd, &times)
      }

    case S_IFLNK:
      guard let target = archive_entry_symlink(entry) else {
        throw refuse(path.display, "is a symlink without a target")
      }
      try removeExisting(parent, name, display: path.display)
      try Sys.check("layer \(options.name): create symlink \"\(path.display)\"") {
        symlinkat(target, parent, name)
      }
      try chownAt(parent, name, entry: entry, display: path.display)
      var times = [mtime(entry), mtime(entry)]
      try Sys.check("layer \(options.name): set times of \"\(path.display)\"") {
        utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
      }

    case S_IFCHR, S_IFBLK, S_IFIFO:
      if type != S_IFIFO && options.rootless {
        throw refuse(
          path.display, "is a device node, which cannot be created without root")
      }
      try removeExisting(parent, name, display: path.display)
      let device =
        type == S_IFIFO
        ? dev_t(0)
        : carchive_makedev(
          UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry)),
          UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry)))
      try Sys.check("layer \(options.name): create node \"\(path.display)\"") {
        mknodat(parent, name, type | (archive_entry_perm(entry) & 0o7777), device)
      }
      try chownAt(parent, name, entry: entry, display: path.display)
      try Sys.check("layer \(options.name): set mode of \"\(path.display)\"") {
        fchmodat(parent, name, archive_entry_perm(entry) & 0o7777, AT_SYMLINK_NOFOLLOW)
      }
      var times = [mtime(entry), mtime(entry)]
      try Sys.check("layer \(options.name): set times of \"\(path.display)\"") {
        utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
      }

    default:
      // Sockets and unknown types carry no content a container can use.
      break
    }
  }

  /// `.wh.NAME` hides NAME of lower layers; `.wh..wh..opq` hides all of the
  /// directory's lower content.
  /// A readable fd of the directory holding `path` (whose O_PATH fd is
  /// `parent`), for the xattr calls that O_PATH fds do not allow.
  func openDirectory(_ parent: Int32, of path: EntryPath) throws -> Int32 {
    path.parent.isEmpty
      ? try Sys.check("layer \(options.name): open root") { fcntl(root, F_DUPFD_CLOEXEC, 0) }
      : try Sys.openat(
        parent, ".", O_RDONLY | O_DIRECTORY, what: "layer \(options.name): open directory")
  }

  mutating func whiteout(_ path: EntryPath, _ targetBytes: [UInt8]) throws {
    let target = String(decoding: targetBytes, as: UTF8.self)
    let parent = try parentFD(path)
    if options.applyWhiteouts {
      if target == ".wh..opq" {
        let dir = try openDirectory(parent, of: path)
        defer { Sys.close(dir) }
        for entry in try directoryEntries("/proc/self/fd/\(dir)") {
          try removeExisting(dir, Array(entry.utf8CString), display: entry)
        }
        return
      }
      if target.hasPrefix(".wh.") || targetBytes.contains(0x2F) || target == "." || target == ".."
        || targetBytes.isEmpty
      {
        return
      }
      try removeExisting(parent, targetBytes.map { CChar(bitPattern: $0) } + [0], display: target)
      return
    }
    if target == ".wh..opq" {
      let value = "y"
      let attribute = options.rootless ? "user.overlay.opaque" : "trusted.overlay.opaque"
      let dir = try openDirectory(parent, of: path)
      defer { Sys.close(dir) }
      try Sys.check(
        "layer \(options.name): mark \"\(path.display)\" opaque",
        hint:
          "overlay whiteouts need a filesystem with \(options.rootless ? "user" : "trusted") xattrs"
      ) {
        fsetxattr(dir, attribute, value, 1, 0)
      }
      return
    }
    if target.hasPrefix(".wh.") { return }  // other aufs metadata: nothing to do
    if targetBytes.isEmpty || target == "." || target == ".." || targetBytes.contains(0x2F) {
      throw refuse(path.display, "is a whiteout of \"\(target)\", outside its directory")
    }
    // The raw bytes: a name need not be UTF-8.
    let name = targetBytes.map { CChar(bitPattern: $0) } + [0]
    try removeExisting(parent, name, display: target)
    if !options.xattrWhiteouts {
      guard let error = Sys.attempt({ mknodat(parent, name, S_IFCHR, 0) }) else { return }
      guard options.rootless && (error == .notPermitted || error == .permissionDenied) else {
        throw BerthError.system(
          "layer \(options.name): create whiteout for \"\(path.display)\"", error,
          hint: "overlay whiteouts are 0:0 character devices; creating them needs root")
      }
    }
    try xattrWhiteout(parent, name, path: path)
  }

  /// An xwhiteout: an empty file with `user.overlay.whiteout`, in a directory
  /// whose `user.overlay.opaque` is "x" (has xwhiteouts) unless already "y".
  func xattrWhiteout(_ parent: Int32, _ name: [CChar], path: EntryPath) throws {
    let prefix = options.rootless ? "user.overlay." : "trusted.overlay."
    let file = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard file >= 0 else {
      throw BerthError.system(
        "layer \(options.name): create whiteout for \"\(path.display)\"", Errno(rawValue: errno))
    }
    defer { Sys.close(file) }
    try Sys.check(
      "layer \(options.name): mark whiteout \"\(path.display)\"",
      hint: "xattr whiteouts need a filesystem with user xattrs"
    ) { fsetxattr(file, prefix + "whiteout", "", 0, 0) }
    let dir = try openDirectory(parent, of: path)
    defer { Sys.close(dir) }
    var current: UInt8 = 0
    if fgetxattr(dir, prefix + "opaque", &current, 1) == 1 && current == 0x79 { return }
    try Sys.check("layer \(options.name): mark \"\(path.display)\"'s directory") {
      fsetxattr(dir, prefix + "opaque", "x", 1, 0)
    }
  }

  func mtime(_ entry: OpaquePointer) -> timespec {
    timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))
  }

  /// Copies an entry's data, sparse holes included, then truncates to size.
  mutating func copyData(
    archive: OpaquePointer, to fd: Int32, entry: OpaquePointer, display: String
  )
    throws
  {
    var block: UnsafeRawPointer?
    var size = 0
    var offset: la_int64_t = 0
    var end: Int64 = 0
    while true {
      let status = archive_read_data_block(archive, &block, &size, &offset)
      if status == ARCHIVE_EOF { break }
      guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
        throw BerthError(
          .invalidArgument,
          "layer \(options.name): reading \"\(display)\" failed: \(archiveMessage(archive))",
          hint: "the layer is truncated or corrupt")
      }
      var written = 0
      while written < size {
        let n = pwrite(fd, block! + written, size - written, off_t(offset) + off_t(written))
        if n < 0 {
          if errno == EINTR { continue }
          throw BerthError.system(
            "layer \(options.name): write \"\(display)\"", Errno(rawValue: errno))
        }
        written += n
      }
      end = max(end, Int64(offset) + Int64(size))
    }
    let declared = archive_entry_size(entry)
    if declared > end {
      try Sys.check("layer \(options.name): extend \"\(display)\"") {
        ftruncate(fd, off_t(declared))
      }
    }
    contentSize += max(end, declared)
  }

  func owner(_ entry: OpaquePointer, display: String) throws -> (uid_t, gid_t) {
    let uid = archive_entry_uid(entry)
    let gid = archive_entry_gid(entry)
    guard (0..<Int64(UInt32.max)).contains(uid), (0..<Int64(UInt32.max)).contains(gid) else {
      throw refuse(display, "has an invalid owner \(uid):\(gid)")
    }
    guard let maps = options.idMaps else { return (uid_t(uid), gid_t(gid)) }
    return (
      IDMaps.outside(UInt32(uid), in: maps.uid) ?? 65534,
      IDMaps.outside(UInt32(gid), in: maps.gid) ?? 65534
    )
  }

  func chownAt(_ parent: Int32, _ name: [CChar], entry: OpaquePointer, display: String) throws {
    guard options.chown else { return }
    let (uid, gid) = try owner(entry, display: display)
    try chownChecked(uid, gid, display: display) {
      fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW)
    }
  }

  /// chown, with an actionable message when the ID is not mapped in a
  /// rootless user namespace (EINVAL).
  func chownChecked(_ uid: uid_t, _ gid: gid_t, display: String, _ call: () -> Int32) throws {
    guard let error = Sys.attempt(call) else { return }
    if error == .invalidArgument && options.rootless {
      throw BerthError(
        .invalidArgument,
        "layer \(options.name): \"\(display)\" is owned by \(uid):\(gid), outside the subordinate IDs",
        hint: "give your user a larger range in /etc/subuid and /etc/subgid (65536 or more)")
    }
    throw BerthError.system("layer \(options.name): chown \"\(display)\"", error)
  }

  /// Owner, then mode (chown clears set-id bits), then xattrs, on an open fd.
  func applyMetadata(fd: Int32, entry: OpaquePointer, display: String, mode: mode_t? = nil)
    throws
  {
    if options.chown {
      let (uid, gid) = try owner(entry, display: display)
      try chownChecked(uid, gid, display: display) { fchown(fd, uid, gid) }
    }
    try Sys.check("layer \(options.name): chmod \"\(display)\"") {
      fchmod(fd, mode ?? archive_entry_perm(entry) & 0o7777)
    }
    archive_entry_xattr_reset(entry)
    var name: UnsafePointer<CChar>?
    var value: UnsafeRawPointer?
    var size = 0
    while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
      guard let name else { continue }
      let key = String(cString: name)
      // A layer must not forge overlay metadata; rootless can set user.* only.
      if key.hasPrefix("trusted.overlay.") || key.hasPrefix("user.overlay.") { continue }
      // In a user namespace, file capabilities can be set too.
      if options.rootless && !key.hasPrefix("user.")
        && !(options.chown && key == "security.capability")
      {
        continue
      }
      if fsetxattr(fd, name, value, size, 0) != 0 {
        let code = errno
        if code == ENOTSUP || code == EOPNOTSUPP { continue }
        throw BerthError.system(
          "layer \(options.name): set xattr \(key) on \"\(display)\"", Errno(rawValue: code))
      }
    }
  }

  /// Sets directory times last, deepest first, since writing into a
  /// directory changes its mtime.
  mutating func finishDirectories() throws {
    defer {
      if options.rootless, let rootMode, rootMode & 0o700 != 0o700 { _ = fchmod(root, rootMode) }
    }
    for (path, time, mode) in directories.reversed() {
      let parent = try walk(Array(path.parent), create: false, display: path.display)
      defer { if parent != root { Sys.close(parent) } }
      if options.rootless && mode & 0o700 != 0o700 {
        // Through an fd opened with O_NOFOLLOW: a later entry may have
        // replaced the directory with a symlink, which must not be followed.
        let fd = openat(parent, path.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
          defer { Sys.close(fd) }
          try Sys.check("layer \(options.name): chmod \"\(path.display)\"") { fchmod(fd, mode) }
        }
      }
      var times = [time, time]
      try Sys.check("layer \(options.name): set times of \"\(path.display)\"") {
        utimensat(parent, path.name, &times, AT_SYMLINK_NOFOLLOW)
      }
    }
  }

}

extension LayerUnpacker {
  /// Decompresses a layer blob (gzip, zstd, xz or none) to a file and returns
  /// the digest of the uncompressed bytes (its diff id).
  public static func decompress(blob: String, to output: String) throws -> Digest {
    guard let reader = archive_read_new() else {
      throw BerthError(.internalError, "libarchive: cannot allocate a reader")
    }
    defer { archive_read_free(reader) }
    archive_read_support_filter_all(reader)
    archive_read_support_format_raw(reader)
    var entry: OpaquePointer?
    guard archive_read_open_filename(reader, blob, 1 << 20) == ARCHIVE_OK,
      archive_read_next_header(reader, &entry) == ARCHIVE_OK
    else {
      throw BerthError(.invalidArgument, "cannot read \(blob): \(archiveMessage(reader))")
    }
    let stream = DecompressedStream(outer: reader)
    let fd = try Sys.open(output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    defer { Sys.close(fd) }
    while true {
      let n = stream.next()
      if n == 0 { break }
      if n < 0 {
        throw BerthError(
          .invalidArgument, "cannot decompress \(blob): \(stream.failure ?? "")",
          hint: "the blob is truncated or corrupt")
      }
      try Sys.writeAll(
        fd, UnsafeRawBufferPointer(rebasing: stream.buffer[0..<n]), what: "write \(output)")
    }
    return stream.hasher.finalize()
  }
}
