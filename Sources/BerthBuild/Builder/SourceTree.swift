// Where COPY and ADD read from: the build context (every path resolved
// beneath it by the kernel, so a symlink leading out is an error, not a
// file of the host) or another stage's mounted rootfs (resolved in its
// root). Sources are listed once into a plan of entries that both the
// cache key (content digests, modes, owners; not times) and the copy use.
import BerthSystem
import CBerth
import Crypto
import FoundationEssentials
import Glibc
import SystemPackage

final class SourceTree {
  let fd: Int32
  let path: String
  /// RESOLVE_BENEATH for the context, RESOLVE_IN_ROOT for a stage's rootfs.
  let resolve: UInt64
  let isContext: Bool

  init(path: String, isContext: Bool) throws(BerthError) {
    self.path = path
    self.isContext = isContext
    resolve =
      (isContext ? BERTH_RESOLVE_BENEATH : BERTH_RESOLVE_IN_ROOT) | BERTH_RESOLVE_NO_MAGICLINKS
    fd = try check("cannot open \(isContext ? "the build context" : "the source stage") \(path)") {
      Glibc.open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)
    }
  }

  deinit { close(fd) }

  func open(_ relative: String, flags: Int32, extra: UInt64 = 0) -> Int32 {
    berth_openat2(
      fd, relative.isEmpty ? "." : relative, UInt64(flags | O_CLOEXEC), 0, resolve | extra)
  }
}

/// The context held by fd, for RUN --mount=type=bind sources.
typealias ContextRoot = SourceTree

extension SourceTree {
  convenience init(_ context: String) throws(BerthError) {
    try self.init(path: context, isContext: true)
  }

  /// `source` (relative to the context) resolved beneath it: its real
  /// relative path and a host path for it.
  func resolve(_ source: String, instruction: Instruction, fileName: String) throws(BerthError)
    -> (relative: String, hostPath: String)
  {
    let relative = String(RootFS.clean(source).dropFirst())
    let object = open(relative, flags: O_PATH)
    guard object >= 0 else {
      let error = currentErrno
      if error == .improperLink || error.rawValue == EXDEV {
        throw BerthError(
          .permissionDenied,
          "\(fileName):\(instruction.line): \(source) leads outside the build context",
          hint: "a COPY source must stay inside the context directory")
      }
      throw BerthError(
        .notFound, "\(fileName):\(instruction.line): \(source): not found in the build context",
        cause: error)
    }
    defer { close(object) }
    let real = realRelative(object) ?? relative
    return (real, real.isEmpty ? path : path + "/" + real)
  }

  /// The path of an fd opened in this tree, relative to its root.
  func realRelative(_ object: Int32) -> String? {
    guard let rootPath = try? readLink("/proc/self/fd/\(fd)"),
      let objectPath = try? readLink("/proc/self/fd/\(object)")
    else { return nil }
    if objectPath == rootPath { return "" }
    let prefix = rootPath == "/" ? "/" : rootPath + "/"
    guard objectPath.hasPrefix(prefix) else { return nil }
    return String(objectPath.dropFirst(prefix.count))
  }
}

func readLink(_ path: String) throws(BerthError) -> String {
  var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
  let count = readlink(path, &buffer, buffer.count - 1)
  guard count >= 0 else { throw BerthError.system("readlink \(path)", currentErrno) }
  buffer[count] = 0
  return String(cString: buffer)
}

/// One thing a COPY writes: a directory, file, symlink or here-document.
struct PlannedEntry {
  /// `hostFile`: a file the build fetched (ADD URL), `source` its host path.
  enum Kind: String { case directory, file, symlink, fifo, heredoc, hostFile }
  var kind: Kind
  /// Path in the source tree (files read from there); for a heredoc, its body.
  var source: String
  /// Path under the destination, "" for the destination itself.
  var target: String
  var mode: mode_t
  var uid: uid_t
  var gid: gid_t
  var mtime: timespec
  var link: String?
  /// sha256 of a file's content (or a heredoc's body).
  var digest: String?

  var keyText: String {
    "\(kind.rawValue) \(target) \(String(mode, radix: 8)) \(uid):\(gid) \(link ?? "") \(digest ?? "")"
  }
}

enum ContentDigest {
  static func hex(_ digest: SHA256.Digest) -> String {
    let table = Array("0123456789abcdef")
    var text = ""
    for byte in digest {
      text.append(table[Int(byte >> 4)])
      text.append(table[Int(byte & 15)])
    }
    return text
  }

  static func file(_ fd: Int32) throws(BerthError) -> String {
    var hasher = SHA256()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let got = read(fd, &buffer, buffer.count)
      if got < 0 && currentErrno == .interrupted { continue }
      guard got >= 0 else { throw BerthError.system("read a COPY source", currentErrno) }
      if got == 0 { break }
      hasher.update(data: buffer[0..<got])
    }
    return hex(hasher.finalize())
  }

  static func text(_ text: String) -> String { hex(SHA256.hash(data: Array(text.utf8))) }

  /// A digest of `paths` in the context (contents, modes, owners, links).
  static func of(root: SourceTree, paths: [String], ignore: IgnorePatterns) throws(BerthError)
    -> String
  {
    var entries: [PlannedEntry] = []
    for path in paths {
      try SourcePlanner.list(
        tree: root, relative: path, named: path, target: path, ignore: ignore, into: &entries)
    }
    return text(entries.map(\.keyText).joined(separator: "\n"))
  }
}

enum SourcePlanner {
  /// Lists `relative` (a real path in `tree`) and, for a directory,
  /// everything below it, in name order. `named` is the path as the
  /// Containerfile named it, which ignore patterns match. The top is
  /// resolved in the tree; what is below it is reached one name at a time
  /// from its directory's fd, never following a symlink. With `digests`,
  /// a file unchanged since a build hashed it is not read again.
  static func list(
    tree: SourceTree, relative: String, named: String, target: String, ignore: IgnorePatterns?,
    digests: ContextDigests? = nil, into entries: inout [PlannedEntry]
  ) throws(BerthError) {
    let fd = tree.open(relative, flags: O_PATH | O_NOFOLLOW)
    guard fd >= 0 else { throw BerthError.system("open \(named)", currentErrno) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw BerthError.system("stat \(named)", currentErrno) }
    let walker = Walker(
      tree: tree, ignore: tree.isContext ? ignore : nil, digests: tree.isContext ? digests : nil,
      hashedAt: Int(Glibc.time(nil)))
    try walker.add(
      st, source: relative, named: named, target: target, into: &entries,
      open: { flags in tree.open(relative, flags: flags | O_NOFOLLOW) },
      readLink: { () throws(BerthError) in try readLinkAt(tree, relative) })
  }

  private struct Walker {
    let tree: SourceTree
    let ignore: IgnorePatterns?
    let digests: ContextDigests?
    let hashedAt: Int

    /// Adds the object `st` describes; `open` opens it (without following
    /// a symlink), `readLink` reads it as a symlink.
    func add(
      _ st: stat, source: String, named: String, target: String,
      into entries: inout [PlannedEntry], open: (Int32) -> Int32,
      readLink: () throws(BerthError) -> String
    ) throws(BerthError) {
      var entry = PlannedEntry(
        kind: .file, source: source, target: target, mode: st.st_mode & 0o7777, uid: st.st_uid,
        gid: st.st_gid, mtime: st.st_mtim)
      switch st.st_mode & S_IFMT {
      case S_IFDIR:
        entry.kind = .directory
        entries.append(entry)
        let directory = open(O_RDONLY | O_DIRECTORY)
        guard directory >= 0 else { throw BerthError.system("open \(named)", currentErrno) }
        defer { close(directory) }
        try walk(directory, source: source, named: named, target: target, into: &entries)
      case S_IFLNK:
        entry.kind = .symlink
        entry.link = try readLink()
        entries.append(entry)
      case S_IFREG:
        if let known = digests?.digest(source, st) {
          entry.digest = known
        } else {
          let file = open(O_RDONLY | O_NONBLOCK)
          guard file >= 0 else { throw BerthError.system("open \(named)", currentErrno) }
          defer { close(file) }
          _ = try stillRegular(file, named)
          let digest = try ContentDigest.file(file)
          digests?.record(source, st, digest: digest, hashedAt: hashedAt)
          entry.digest = digest
        }
        entries.append(entry)
      case S_IFIFO:
        entry.kind = .fifo
        entries.append(entry)
      default:
        // Sockets and devices are not copied, as docker skips them.
        break
      }
    }

    func walk(
      _ directory: Int32, source: String, named: String, target: String,
      into entries: inout [PlannedEntry]
    ) throws(BerthError) {
      let names = try directoryEntries(fd: directory, what: named.isEmpty ? "." : named)
        .map(\.name).sorted()
      for name in names {
        let childNamed = named.isEmpty ? name : named + "/" + name
        // An excluded directory is still walked when a `!` pattern may
        // re-include something below it.
        if let ignore, ignore.excludes(childNamed), !ignore.mayReinclude(under: childNamed) {
          continue
        }
        var st = stat()
        guard fstatat(directory, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
          throw BerthError.system("stat \(childNamed)", currentErrno)
        }
        try add(
          st, source: relativeJoin(source, name), named: childNamed,
          target: relativeJoin(target, name), into: &entries,
          open: { flags in openat(directory, name, flags | O_NOFOLLOW | O_CLOEXEC) },
          readLink: { () throws(BerthError) in
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlinkat(directory, name, &buffer, buffer.count - 1)
            guard count >= 0 else {
              throw BerthError.system("readlink \(childNamed)", currentErrno)
            }
            buffer[count] = 0
            return String(cString: buffer)
          })
      }
    }
  }

  static func readLinkAt(_ tree: SourceTree, _ relative: String) throws(BerthError) -> String {
    let parent = relative.split(separator: "/").dropLast().joined(separator: "/")
    let name = relative.split(separator: "/").last.map(String.init) ?? relative
    let dir = tree.open(parent, flags: O_PATH | O_DIRECTORY)
    guard dir >= 0 else { throw BerthError.system("open \(parent)", currentErrno) }
    defer { close(dir) }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlinkat(dir, name, &buffer, buffer.count - 1)
    guard count >= 0 else { throw BerthError.system("readlink \(relative)", currentErrno) }
    buffer[count] = 0
    return String(cString: buffer)
  }
}

/// The stat of `fd`, a file the plan saw as regular and opened O_NONBLOCK,
/// so that one swapped for a FIFO since cannot hang the build: it is
/// refused here instead.
func stillRegular(_ fd: Int32, _ name: String) throws(BerthError) -> stat {
  var st = stat()
  guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
    throw BerthError(
      .invalidArgument, "\(name) in the build's sources changed while the build read it",
      hint: "build again once nothing changes it")
  }
  return st
}

func relativeJoin(_ base: String, _ name: String) -> String {
  base.isEmpty ? name : base + "/" + name
}

extension BuildOptions {
  /// A file named relative to the context (`docker build -f` as the API
  /// sends it), read beneath the context by fd: a name or symlink that
  /// leads out is an error.
  public static func readContextFile(_ context: String, _ relative: String) throws(BerthError)
    -> String
  {
    let tree = try SourceTree(context)
    // Non-blocking: a FIFO named Dockerfile must not hang the reader.
    let fd = tree.open(String(RootFS.clean(relative).dropFirst()), flags: O_RDONLY | O_NONBLOCK)
    guard fd >= 0 else {
      let error = currentErrno
      if error == .improperLink || error.rawValue == EXDEV {
        throw BerthError(
          .permissionDenied, "\(relative) leads outside the build context",
          hint: "name a Dockerfile inside the context")
      }
      throw BerthError(
        .notFound, "Cannot locate specified Dockerfile: \(relative)",
        hint: "add it to the context, or name it with dockerfile=")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
      throw BerthError(
        .invalidArgument, "\(relative) is not a regular file", hint: "name a Dockerfile")
    }
    let bytes = try FileDescriptor(rawValue: fd).readToEnd(
      what: "cannot read \(relative)", limit: 16 << 20)
    return String(decoding: bytes, as: UTF8.self)
  }
}
