// Writes a directory tree as an uncompressed layer tar with libarchive:
// entries sorted by name, owners numeric, and (for a container's overlay
// upper directory) overlay whiteouts turned into OCI ones: a 0:0 character
// device becomes an empty `.wh.NAME`, an opaque directory gets a
// `.wh..wh..opq` entry. The tree is read through directory fds with
// O_NOFOLLOW, so a symlink in it is stored, never followed.
import BerthOCI
import BerthSystem
import CArchive
import Glibc
import SystemPackage

public enum LayerWriter {
  /// Writes `directory` as a tar at `output`; with `overlayUpper`, overlay
  /// whiteouts and opaque directories become OCI whiteout entries.
  /// Paths in `exclude` ("etc/hosts") are left out. With `mtime` (a
  /// reproducible build's timestamp) every entry gets that time and no
  /// access or change time, so the same tree always gives the same bytes.
  /// Returns the bytes of regular file content written.
  @discardableResult
  public static func write(
    directory: String, to output: String, overlayUpper: Bool, rootless: Bool,
    exclude: Set<String> = [], mtime: Int? = nil, idMaps: IDMaps? = nil
  ) throws -> Int64 {
    let tar = try LayerTarWriter(output: output, mtime: mtime, idMaps: idMaps)
    let root = try Sys.open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    defer { Sys.close(root) }
    let writer = Writer(
      tar: tar, overlayUpper: overlayUpper,
      opaqueXattr: rootless ? "user.overlay.opaque" : "trusted.overlay.opaque", exclude: exclude)
    try writer.walk(root, prefix: "")
    try tar.finish()
    return tar.contentBytes
  }

  private struct Writer {
    let tar: LayerTarWriter
    let overlayUpper: Bool
    let opaqueXattr: String
    let exclude: Set<String>

    func walk(_ dirFD: Int32, prefix: String) throws {
      if overlayUpper && isOpaque(dirFD) && !prefix.isEmpty {
        try header(prefix + ".wh..wh..opq", stat: regularEmpty())
      }
      for name in try directoryEntries("/proc/self/fd/\(dirFD)").sorted() {
        var st = stat()
        guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
          throw BerthError.system("stat \(prefix)\(name)", currentErrno)
        }
        let path = prefix + name
        if exclude.contains(path) { continue }
        switch st.st_mode & S_IFMT {
        case S_IFCHR where overlayUpper && st.st_rdev == 0:
          try header(prefix + ".wh." + name, stat: regularEmpty())
        case S_IFDIR:
          try header(path + "/", stat: st)
          let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
          guard child >= 0 else { throw BerthError.system("open \(path)", currentErrno) }
          defer { close(child) }
          try walk(child, prefix: path + "/")
        case S_IFLNK:
          var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
          let count = readlinkat(dirFD, name, &target, target.count - 1)
          guard count >= 0 else { throw BerthError.system("readlink \(path)", currentErrno) }
          target[count] = 0
          try header(path, stat: st, link: String(cString: target))
        case S_IFREG:
          let fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
          guard fd >= 0 else { throw BerthError.system("open \(path)", currentErrno) }
          defer { close(fd) }
          try tar.add(path, stat: st, content: fd)
        default:
          // Devices, fifos and sockets: the header is the whole entry.
          try header(path, stat: st)
        }
      }
    }

    func regularEmpty() -> stat {
      var st = stat()
      st.st_mode = S_IFREG | 0o644
      return st
    }

    func isOpaque(_ fd: Int32) -> Bool {
      var value = [UInt8](repeating: 0, count: 4)
      let got = fgetxattr(fd, opaqueXattr, &value, value.count)
      return got == 1 && value[0] == UInt8(ascii: "y")
    }

    func header(_ path: String, stat st: stat, link: String? = nil) throws {
      try tar.add(path, stat: st, link: link)
    }
  }
}

/// A layer tar written entry by entry: `LayerWriter` walks a directory
/// into one, and a build's COPY writes the files it copies straight from
/// the build context, with no overlay to create them in first. The caller
/// gives entries in the order `LayerWriter` does (parents first, names
/// sorted).
public final class LayerTarWriter {
  let archive: OpaquePointer
  let output: String
  let mtime: Int?
  let idMaps: IDMaps?
  /// Bytes of regular file content written.
  public private(set) var contentBytes: Int64 = 0
  var buffer = [UInt8](repeating: 0, count: 1 << 16)

  /// A tar at `output`. With `mtime` (a reproducible build's timestamp)
  /// every entry gets that time and no access or change time; with
  /// `idMaps` (a container in its own user namespace) owners are written
  /// as its processes see them, 65534 when unmapped.
  public init(output: String, mtime: Int?, idMaps: IDMaps? = nil) throws {
    guard let archive = archive_write_new() else {
      throw BerthError(.internalError, "libarchive: cannot allocate a writer")
    }
    archive_write_set_format_pax_restricted(archive)
    guard archive_write_open_filename(archive, output) == ARCHIVE_OK else {
      let message = String(cString: archive_error_string(archive))
      archive_write_free(archive)
      throw BerthError(.system, "cannot write \(output): \(message)")
    }
    self.archive = archive
    self.output = output
    self.mtime = mtime
    self.idMaps = idMaps
  }

  deinit { archive_write_free(archive) }

  /// An entry with no content: a directory (its path ends in `/`), a
  /// symlink, a device, a fifo, or an empty whiteout file.
  public func add(_ path: String, stat st: stat, link: String? = nil) throws {
    var st = st
    if (st.st_mode & S_IFMT) == S_IFREG { st.st_size = 0 }
    try header(path, st, link: link)
  }

  /// A regular file whose content is read from `content`, which must hold
  /// `st.st_size` bytes (a file that shrank meanwhile is an error).
  public func add(_ path: String, stat st: stat, content: Int32) throws {
    try header(path, st, link: nil)
    var left = Int64(st.st_size)
    while left > 0 {
      let got = read(content, &buffer, min(buffer.count, Int(left)))
      if got < 0 && currentErrno == .interrupted { continue }
      guard got >= 0 else { throw BerthError.system("read \(path)", currentErrno) }
      guard got > 0 else {
        throw BerthError(
          .system, "\(path) shrank while it was written into a layer",
          hint: "run the command again once nothing changes the file")
      }
      try write(path, buffer, count: got)
      left -= Int64(got)
    }
    contentBytes += Int64(st.st_size)
  }

  /// A regular file whose content is `data`.
  public func add(_ path: String, stat st: stat, data: [UInt8]) throws {
    var st = st
    st.st_size = Int(data.count)
    try header(path, st, link: nil)
    if !data.isEmpty { try write(path, data, count: data.count) }
    contentBytes += Int64(data.count)
  }

  /// Writes the end of the archive.
  public func finish() throws {
    guard archive_write_close(archive) == ARCHIVE_OK else {
      throw BerthError(
        .system, "cannot finish \(output): \(String(cString: archive_error_string(archive)))")
    }
  }

  func write(_ path: String, _ bytes: [UInt8], count: Int) throws {
    guard archive_write_data(archive, bytes, count) == count else {
      throw BerthError(
        .system, "cannot write \(path): \(String(cString: archive_error_string(archive)))")
    }
  }

  func header(_ path: String, _ st: stat, link: String?) throws {
    guard let entry = archive_entry_new() else {
      throw BerthError(.internalError, "libarchive: cannot allocate an entry")
    }
    defer { archive_entry_free(entry) }
    var copy = st
    archive_entry_copy_stat(entry, &copy)
    if let idMaps {
      archive_entry_set_uid(entry, Int64(IDMaps.inside(copy.st_uid, in: idMaps.uid) ?? 65534))
      archive_entry_set_gid(entry, Int64(IDMaps.inside(copy.st_gid, in: idMaps.gid) ?? 65534))
    }
    archive_entry_set_pathname(entry, path)
    if let mtime {
      archive_entry_set_mtime(entry, time_t(mtime), 0)
      archive_entry_unset_atime(entry)
      archive_entry_unset_ctime(entry)
      archive_entry_unset_birthtime(entry)
    }
    if let link { archive_entry_set_symlink(entry, link) }
    if (st.st_mode & S_IFMT) != S_IFREG { archive_entry_set_size(entry, 0) }
    guard archive_write_header(archive, entry) == ARCHIVE_OK else {
      throw BerthError(
        .system,
        "cannot write the tar header of \(path): \(String(cString: archive_error_string(archive)))"
      )
    }
  }
}
