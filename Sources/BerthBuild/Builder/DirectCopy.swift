// A COPY whose destination does not exist yet writes its layer tar straight
// from its sources: every entry is new, so the layer is exactly the copied
// entries and the directories above them, and there is nothing to learn
// from an overlay. Creating 2,000 files in an overlay and reading them back
// into a tar was most of a one-file rebuild; this reads each source once.
// The layer is unpacked later, when a snapshot first needs it (the store
// unpacks it from the blob), which a build that ends with its COPY never
// does. Anything else (a destination that exists, a symlink on the way,
// the root itself, an archive ADD unpacks, two sources landing on one
// path) takes the overlay path, whose rules this one reproduces.
import BerthImage
import BerthSystem
import CBerth
import Glibc

struct DirectCopy {
  /// One tar entry: its path in the layer ("app/src/", "app/src/f") and
  /// what it is.
  struct Item {
    enum Content {
      case none
      case tree(String)
      case host(String)
      case text(String)
    }
    var components: [String]
    var stat: stat
    var link: String?
    var content: Content

    var path: String {
      let joined = components.joined(separator: "/")
      return (stat.st_mode & S_IFMT) == S_IFDIR ? joined + "/" : joined
    }
  }

  var items: [Item] = []

  /// The layer for `plans` copied to their `targets`, or nil when the
  /// overlay path must write it. `lower` is the state being copied onto.
  static func plan(
    _ plans: [(entries: [PlannedEntry], target: String)], lower: RootFS,
    owner: (uid_t, gid_t)?, mode modeOverride: mode_t?, timestamp: Int?
  ) -> DirectCopy? {
    var copy = DirectCopy()
    var ancestors: [String: Item] = [:]
    var targets: [[String]] = []
    let now = timespec(tv_sec: timestamp ?? Int(Glibc.time(nil)), tv_nsec: 0)
    for plan in plans {
      let components = plan.target.split(separator: "/").map(String.init)
      guard !components.isEmpty, !plan.entries.isEmpty else { return nil }
      // Two sources on one path, or one inside another: merge rules.
      for other in targets
      where other.starts(with: components) || components.starts(with: other) {
        return nil
      }
      targets.append(components)
      guard case .absent = probe(lower, plan.target) else { return nil }
      // The directories above: as they are in the state (an overlay copies
      // them up), or as mkdir -p makes them (0755, root or --chown's owner).
      for depth in 1..<components.count {
        let prefix = Array(components[0..<depth])
        let key = prefix.joined(separator: "/")
        if ancestors[key] != nil { continue }
        var st = stat()
        switch probe(lower, "/" + key) {
        case .directory(let existing):
          st.st_mode = S_IFDIR | (existing.st_mode & 0o7777)
          st.st_uid = existing.st_uid
          st.st_gid = existing.st_gid
        case .absent:
          // As made on the way: --chown's owner, as buildah and BuildKit.
          st.st_mode = S_IFDIR | 0o755
          (st.st_uid, st.st_gid) = owner ?? (0, 0)
        case .other:
          return nil
        }
        st.st_mtim = now
        ancestors[key] = Item(components: prefix, stat: st, link: nil, content: .none)
      }
      for entry in plan.entries {
        copy.items.append(
          item(
            entry, under: components, owner: owner, mode: modeOverride, timestamp: timestamp))
      }
    }
    copy.items += ancestors.values
    // LayerWriter's order: depth first, names sorted at every level.
    copy.items.sort { $0.components.lexicographicallyPrecedes($1.components) }
    return copy
  }

  /// The tar entry for a planned entry, with CopyWriter's owners, modes
  /// and times.
  static func item(
    _ entry: PlannedEntry, under target: [String], owner: (uid_t, gid_t)?,
    mode modeOverride: mode_t?,
    timestamp: Int?
  ) -> Item {
    var st = stat()
    var uid = owner?.0 ?? entry.uid
    var gid = owner?.1 ?? entry.gid
    var mode = entry.kind == .symlink ? entry.mode : (modeOverride ?? entry.mode)
    var content = Item.Content.none
    switch entry.kind {
    case .directory:
      st.st_mode = S_IFDIR
      if entry.target.isEmpty {
        // The destination itself: made as buildah makes it, not a copy.
        mode = modeOverride ?? 0o755
        (uid, gid) = owner ?? (0, 0)
      }
    case .file:
      st.st_mode = S_IFREG
      content = .tree(entry.source)
    case .hostFile:
      st.st_mode = S_IFREG
      content = .host(entry.source)
    case .heredoc:
      st.st_mode = S_IFREG
      content = .text(entry.source)
      st.st_size = Int(entry.source.utf8.count)
    case .symlink:
      st.st_mode = S_IFLNK
    case .fifo:
      st.st_mode = S_IFIFO
    }
    st.st_mode |= mode
    st.st_uid = uid
    st.st_gid = gid
    st.st_mtim = timestamp.map { timespec(tv_sec: $0, tv_nsec: 0) } ?? entry.mtime
    st.st_atim = st.st_mtim
    st.st_ctim = st.st_mtim
    let below = entry.target.split(separator: "/").map(String.init)
    return Item(components: target + below, stat: st, link: entry.link, content: content)
  }

  enum Probe {
    case absent
    case directory(stat)
    case other
  }

  /// What `path` is in the lower state, without following any symlink.
  static func probe(_ root: RootFS, _ path: String) -> Probe {
    let fd = berth_openat2(
      root.fd, path, UInt64(O_PATH | O_NOFOLLOW | O_CLOEXEC), 0,
      BERTH_RESOLVE_IN_ROOT | BERTH_RESOLVE_NO_MAGICLINKS | BERTH_RESOLVE_NO_SYMLINKS)
    guard fd >= 0 else { return currentErrno == .noSuchFileOrDirectory ? .absent : .other }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return .other }
    return .directory(st)
  }

  /// Writes the layer tar, reading each file from `tree` (or the host).
  func write(to output: String, tree: SourceTree, timestamp: Int?) throws -> Int64 {
    let tar = try LayerTarWriter(output: output, mtime: timestamp)
    // Non-blocking opens: see stillRegular.
    func addFile(_ item: Item, _ fd: Int32, _ source: String) throws {
      guard fd >= 0 else { throw BerthError.system("open \(source)", currentErrno) }
      defer { close(fd) }
      var st = item.stat
      st.st_size = try stillRegular(fd, source).st_size
      try tar.add(item.path, stat: st, content: fd)
    }
    for item in items {
      switch item.content {
      case .none:
        try tar.add(item.path, stat: item.stat, link: item.link)
      case .text(let text):
        try tar.add(item.path, stat: item.stat, data: Array(text.utf8))
      case .tree(let source):
        try addFile(item, tree.open(source, flags: O_RDONLY | O_NONBLOCK | O_NOFOLLOW), source)
      case .host(let path):
        try addFile(item, open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), path)
      }
    }
    try tar.finish()
    return tar.contentBytes
  }
}
