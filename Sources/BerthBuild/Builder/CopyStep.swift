// COPY and ADD (and WORKDIR's directory): sources are planned first (their
// digest is the cache key), then written into a mounted snapshot of the
// current state, resolved in its root by fd, and the overlay's upper
// directory becomes the layer. Docker's rules: a directory source copies
// its contents; several sources need a destination ending in `/`; a file
// lands inside an existing directory; owners are 0:0 from the context
// unless --chown, kept from another stage; ADD unpacks a local archive.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import CBerth
import FoundationEssentials
import Glibc
import SystemPackage

extension StageBuilder {
  mutating func copy(
    _ rawSources: [String], to rawDestination: String, _ instruction: Instruction, isAdd: Bool
  ) async throws {
    for flag in instruction.flags where flag.name == "parents" || flag.name == "exclude" {
      throw BerthError(
        .unsupported,
        "\(fileName):\(instruction.line): \(instruction.keyword) --\(flag.name) is not supported yet"
      )
    }
    let keyword = instruction.keyword
    var destination = try expand(rawDestination)
    guard !destination.isEmpty else { throw located(instruction, "\(keyword) needs a destination") }
    let intoDirectory =
      destination.hasSuffix("/") || destination == "." || destination.hasSuffix("/.")
    if !destination.hasPrefix("/") { destination = state.workingDir + "/" + destination }
    destination = RootFS.clean(destination)
    let chmodFlag = try instruction.flagValues("chmod").last.map { value throws(BerthError) in
      guard let mode = mode_t(try expand(value), radix: 8), mode <= 0o7777 else {
        throw located(
          instruction, "invalid --chmod=\(value)", hint: "give an octal mode such as 0755")
      }
      return mode
    }
    let chownFlag = try instruction.flagValues("chown").last.map { value throws(BerthError) in
      try expand(value)
    }
    // The source tree: the context, or another stage or image.
    var tree: SourceTree
    var sourceKey = "context"
    var cleanup: [String] = []
    if let from = instruction.flagValues("from").last {
      let name = try expand(from)
      let source = try await sourceState(name)
      sourceKey = source.key
      if let layers = source.layers {
        let id = "build-" + String(ContainerNames.randomID().prefix(24))
        let snapshot = try engine.store.createSnapshot(id: id, image: layers)
        builder.active.addSnapshot(id)
        cleanup.append(id)
        tree = try SourceTree(
          path: try engine.store.mountSnapshot(snapshot, readOnly: true), isContext: false)
      } else {
        tree = try SourceTree(path: try emptyDirectory(), isContext: false)
      }
    } else {
      tree = try SourceTree(options.context)
    }
    defer {
      for id in cleanup {
        try? engine.store.unmountSnapshot(id: id)
        try? engine.store.removeSnapshot(id: id)
        builder.active.removeSnapshot(id)
      }
    }
    // Expand, match wildcards and plan.
    var downloads: [String] = []
    var plans: [(entries: [PlannedEntry], isDirectory: Bool, name: String, archive: Bool)] = []
    var heredocs: [String: Heredoc] = [:]
    for doc in instruction.heredocs {
      heredocs["<<" + doc.name] = doc
      heredocs["<<-" + doc.name] = doc
    }
    for raw in rawSources {
      if let doc = heredocs[raw] {
        let body = doc.expands ? try expandHeredoc(doc.content) : doc.content
        let time = timespec(tv_sec: options.timestamp ?? Int(Glibc.time(nil)), tv_nsec: 0)
        let entry = PlannedEntry(
          kind: .heredoc, source: body, target: "", mode: 0o644, uid: 0, gid: 0, mtime: time,
          digest: ContentDigest.text(body))
        plans.append(([entry], false, doc.name, false))
        continue
      }
      let source = try expand(raw)
      if isAdd, source.hasPrefix("http://") || source.hasPrefix("https://") {
        let (plan, path) = try await download(source, instruction)
        downloads.append(path)
        plans.append(plan)
        continue
      }
      let matches = try match(source, in: tree, instruction)
      guard !matches.isEmpty else {
        throw BerthError(
          .notFound,
          "\(fileName):\(instruction.line): \(keyword) \(source): no such file or directory in the \(tree.isContext ? "build context" : "source stage")",
          hint: tree.isContext ? "check the path and .dockerignore" : nil)
      }
      for named in matches {
        let real: String
        if tree.isContext {
          real = try tree.resolve(named, instruction: instruction, fileName: fileName).relative
        } else {
          let fd = tree.open(named, flags: O_PATH)
          guard fd >= 0 else {
            throw BerthError(
              .notFound, "\(fileName):\(instruction.line): \(named) not found in the source")
          }
          real = tree.realRelative(fd) ?? named
          close(fd)
        }
        var entries: [PlannedEntry] = []
        try SourcePlanner.list(
          tree: tree, relative: real, named: named, target: "", ignore: builder.ignore,
          digests: builder.digests, into: &entries)
        let isDirectory = entries.first?.kind == .directory
        let name = named.split(separator: "/").last.map(String.init) ?? named
        var archive = false
        if isAdd, tree.isContext, entries.first?.kind == .file {
          archive = Self.isArchive(tree, real)
        }
        plans.append((entries, isDirectory, name, archive))
      }
    }
    if plans.count > 1 && !intoDirectory {
      throw located(
        instruction,
        "\(keyword) with more than one source needs a destination directory ending in /",
        hint: "write \(rawDestination)/")
    }
    // Owners and modes as they will be written.
    var owner: (uid_t, gid_t)? = tree.isContext ? (0, 0) : nil
    let chownText = chownFlag
    let modeOverride = chmodFlag
    let keyText =
      [
        keyword, sourceKey, destination, intoDirectory ? "dir" : "", chownText ?? "",
        modeOverride.map { String($0, radix: 8) } ?? "",
      ].joined(separator: " ") + "\n"
      + plans.map { plan in
        "\(plan.name) \(plan.archive)\n" + plan.entries.map(\.keyText).joined(separator: "\n")
      }.joined(separator: "\n")
    let key = BuildCache.key(parent: state.key, step: keyText)
    let createdBy = "/bin/sh -c #(nop) " + instruction.text
    if try useCache(key) { return }
    defer { for path in downloads { try? removeTree(path) } }
    let work = try openWorkingRoot()
    defer { closeWorkingRoot(work) }
    if let chownText { owner = try Self.owner(chownText, rootfs: work.path) }
    // A directory source copies its contents to the destination; anything
    // else lands inside it when it is (or is to be) a directory.
    func target(_ plan: (entries: [PlannedEntry], isDirectory: Bool, name: String, archive: Bool))
      -> String
    {
      guard plan.entries.first?.kind != .directory else { return destination }
      let existingDirectory = work.root.fileType(destination) == S_IFDIR
      return RootFS.clean(
        intoDirectory || existingDirectory ? destination + "/" + plan.name : destination)
    }
    if !plans.contains(where: \.archive),
      let direct = DirectCopy.plan(
        plans.map { ($0.entries, target($0)) }, lower: work.root, owner: owner,
        mode: modeOverride, timestamp: options.timestamp)
    {
      let timestamp = options.timestamp
      try commitLayer(key: key, createdBy: createdBy) { path in
        _ = try direct.write(to: path, tree: tree, timestamp: timestamp)
        return nil
      }
      return
    }
    for plan in plans {
      if plan.archive {
        try Self.unpack(tree, plan.entries[0].source, into: destination, root: work.root)
        continue
      }
      try CopyWriter(
        root: work.root, tree: tree, owner: owner, mode: modeOverride,
        timestamp: options.timestamp
      ).write(plan.entries, to: target(plan))
    }
    try work.finish(engine.store)
    try commitLayer(
      from: work.changes, overlay: work.overlay, exclude: [], key: key, createdBy: createdBy)
  }

  /// ADD URL: the file, fetched now, as a plan of one file (mode 0600,
  /// named after the URL's last path component).
  func download(_ url: String, _ instruction: Instruction) async throws -> (
    (entries: [PlannedEntry], isDirectory: Bool, name: String, archive: Bool), String
  ) {
    let path = engine.store.root + "/ingest/add-" + String(ContainerNames.randomID().prefix(16))
    let modified: Int?
    do {
      modified = try await RemoteSource.fetch(url, to: path)
    } catch {
      try? removeTree(path)
      if let error = error as? BerthError { throw error }
      throw BerthError(
        .system, "\(fileName):\(instruction.line): cannot fetch \(url): \(error)",
        hint: "check the URL and that this host reaches it")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw BerthError.system("open \(path)", currentErrno) }
    defer { close(fd) }
    let digest = try ContentDigest.file(fd)
    let name =
      url.split(separator: "?").first.flatMap { $0.split(separator: "/").last }.map(String.init)
      ?? "download"
    let entry = PlannedEntry(
      kind: .hostFile, source: path, target: "", mode: 0o600, uid: 0, gid: 0,
      mtime: timespec(tv_sec: modified ?? 0, tv_nsec: 0), digest: digest)
    return (([entry], false, name, false), path)
  }

  /// WORKDIR's directory, made (in a layer) when the image lacks it.
  mutating func makeWorkdir(_ instruction: Instruction) async throws {
    let path = state.workingDir
    let key = BuildCache.key(parent: state.key, step: "workdir " + path)
    if try useCache(key) { return }
    let work = try openWorkingRoot()
    defer { closeWorkingRoot(work) }
    guard work.root.fileType(path) == nil else {
      configChanged(instruction)
      return
    }
    close(try work.root.mkdirAll(path))
    try work.finish(engine.store)
    try commitLayer(
      from: work.changes, overlay: work.overlay, exclude: [], key: key,
      createdBy: "/bin/sh -c #(nop) " + instruction.text)
  }

  /// A writable root of the current state: an overlay snapshot, or an
  /// empty directory for a stage with no layer yet.
  func openWorkingRoot() throws -> WorkingRoot {
    guard let layers = state.layers else {
      let directory = try emptyDirectory()
      return WorkingRoot(
        root: try RootFS(path: directory), path: directory, changes: directory, overlay: false,
        snapshot: nil)
    }
    let id = "build-" + String(ContainerNames.randomID().prefix(24))
    let snapshot = try engine.store.createSnapshot(id: id, image: layers)
    builder.active.addSnapshot(id)
    do {
      let merged = try engine.store.mountSnapshot(snapshot)
      return WorkingRoot(
        root: try RootFS(path: merged), path: merged, changes: snapshot.upper, overlay: true,
        snapshot: id)
    } catch {
      try? engine.store.removeSnapshot(id: id)
      builder.active.removeSnapshot(id)
      throw error
    }
  }

  func closeWorkingRoot(_ work: WorkingRoot) {
    if let id = work.snapshot {
      try? engine.store.unmountSnapshot(id: id)
      try? engine.store.removeSnapshot(id: id)
      builder.active.removeSnapshot(id)
    } else {
      try? removeTree(work.path)
    }
  }

  /// `--chown=user[:group]` against the image's passwd and group files; a
  /// user alone gives its uid as the group too, as docker does.
  static func owner(_ text: String, rootfs: String) throws -> (uid_t, gid_t) {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    let user = try ContentStore.resolveUser(parts[0], rootfs: rootfs)
    if parts.count == 1 { return (user.uid, user.uid) }
    let group = try ContentStore.resolveUser("0:" + parts[1], rootfs: rootfs)
    return (user.uid, group.gid)
  }

  /// Whether a context file is an archive ADD unpacks (tar, gzip, bzip2, xz).
  static func isArchive(_ tree: SourceTree, _ relative: String) -> Bool {
    let fd = tree.open(relative, flags: O_RDONLY | O_NOFOLLOW)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var header = [UInt8](repeating: 0, count: 512)
    let got = pread(fd, &header, 512, 0)
    guard got >= 6 else { return false }
    if header[0] == 0x1f && header[1] == 0x8b { return true }
    if header[0] == 0x42 && header[1] == 0x5a && header[2] == 0x68 { return true }
    if header[0...5] == [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] { return true }
    return got >= 262 && Array(header[257..<262]) == Array("ustar".utf8)
  }

  static func unpack(_ tree: SourceTree, _ relative: String, into destination: String, root: RootFS)
    throws
  {
    let fd = tree.open(relative, flags: O_RDONLY | O_NOFOLLOW)
    guard fd >= 0 else { throw BerthError.system("open \(relative)", currentErrno) }
    defer { close(fd) }
    let directory = try root.mkdirAll(destination)
    defer { close(directory) }
    let opened = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard opened >= 0 else { throw BerthError.system("open \(destination)", currentErrno) }
    defer { close(opened) }
    var options = UnpackOptions(rootless: geteuid() != 0, name: relative)
    options.whiteouts = false
    options.chown = geteuid() == 0
    _ = try LayerUnpacker.unpack(
      blob: "/proc/self/fd/\(fd)", intoDirectoryFD: opened, options: options)
  }

  /// Matches a source with wildcards (Go's filepath.Match per component,
  /// as docker) against the tree; a plain path is itself.
  func match(_ source: String, in tree: SourceTree, _ instruction: Instruction) throws -> [String] {
    // `..` past the top names something outside: an error, not the root.
    var depth = 0
    for component in source.split(separator: "/") where component != "." {
      depth += component == ".." ? -1 : 1
      if depth < 0 && tree.isContext {
        throw BerthError(
          .permissionDenied,
          "\(fileName):\(instruction.line): \(source) leads outside the build context",
          hint: "a COPY source must stay inside the context directory")
      }
    }
    let cleaned = String(RootFS.clean(source).dropFirst())
    guard cleaned.contains(where: { "*?[".contains($0) }) else {
      if tree.isContext && !cleaned.isEmpty && builder.ignore.excludes(cleaned) { return [] }
      let fd = tree.open(cleaned, flags: O_PATH)
      if fd < 0 {
        let error = currentErrno
        if error.rawValue == EXDEV || error == .improperLink {
          throw BerthError(
            .permissionDenied,
            "\(fileName):\(instruction.line): \(source) leads outside the build context",
            hint: "a COPY source must stay inside the context directory")
        }
        return []
      }
      close(fd)
      return [cleaned]
    }
    var results: [String] = [""]
    for component in cleaned.split(separator: "/").map(String.init) {
      var next: [String] = []
      for base in results {
        if !component.contains(where: { "*?[".contains($0) }) {
          next.append(relativeJoin(base, component))
          continue
        }
        let fd = tree.open(base, flags: O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { continue }
        defer { close(fd) }
        for name in (try? directoryEntries("/proc/self/fd/\(fd)"))?.sorted() ?? []
        where fnmatch(component, name, 0) == 0 {
          next.append(relativeJoin(base, name))
        }
      }
      results = next
    }
    return results.filter { path in
      let fd = tree.open(path, flags: O_PATH)
      guard fd >= 0 else { return false }
      close(fd)
      return !(tree.isContext && builder.ignore.excludes(path))
    }
  }
}

struct WorkingRoot {
  let root: RootFS
  /// Where the root is mounted (or the directory itself).
  let path: String
  /// The directory that holds the changes: the overlay's upper, or the root.
  let changes: String
  let overlay: Bool
  let snapshot: String?

  /// Unmounts the overlay so the upper directory is complete and still.
  func finish(_ store: ContentStore) throws {
    if let snapshot { try store.unmountSnapshot(id: snapshot) }
  }
}

/// Writes planned entries under a destination in a rootfs, by fd.
struct CopyWriter {
  let root: RootFS
  let tree: SourceTree
  /// nil: keep the source's owners (COPY --from).
  let owner: (uid_t, gid_t)?
  let mode: mode_t?
  let timestamp: Int?

  func write(_ entries: [PlannedEntry], to destination: String) throws {
    var directories: [(String, timespec)] = []
    // Each directory is resolved once (in the root, by fd) and kept open for
    // the entries in it: resolving every file's parent again cost a copy of
    // 2,000 files some 12,000 openat2 and mkdirat calls.
    var parents: [String: Int32] = [:]
    defer { for fd in parents.values { close(fd) } }
    func parentDirectory(_ path: String) throws -> Int32 {
      if let fd = parents[path] { return fd }
      // Directories made on the way get --chown's owner, as buildah and
      // BuildKit give them; ones that exist keep theirs.
      var made: [String] = []
      if let owner, owner != (0, 0) {
        var prefix = ""
        for component in path.split(separator: "/") {
          prefix += "/" + component
          if root.fileType(prefix) == nil { made.append(prefix) }
        }
      }
      let fd = try root.mkdirAll(path)
      parents[path] = fd
      for directory in made {
        let (parentPath, name) = RootFS.split(directory)
        let parent = try root.open(parentPath, flags: O_PATH | O_DIRECTORY, noSymlinks: true)
        defer { close(parent) }
        try check("chown \(directory)") {
          fchownat(parent, name, owner!.0, owner!.1, AT_SYMLINK_NOFOLLOW)
        }
      }
      return fd
    }
    for entry in entries {
      let path = entry.target.isEmpty ? destination : destination + "/" + entry.target
      let (parentPath, name) = RootFS.split(path)
      let uid = owner?.0 ?? entry.uid
      let gid = owner?.1 ?? entry.gid
      let mode = entry.kind == .symlink ? entry.mode : (self.mode ?? entry.mode)
      let time = timestamp.map { timespec(tv_sec: $0, tv_nsec: 0) } ?? entry.mtime
      if name.isEmpty {
        // The destination is the root itself: nothing to create.
        continue
      }
      let parent = try parentDirectory(parentPath)
      var existing = stat()
      let exists = fstatat(parent, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
      let existingIsDirectory = exists && (existing.st_mode & S_IFMT) == S_IFDIR
      switch entry.kind {
      case .directory:
        // A directory source's own entry is the destination: made as
        // buildah makes it (0755, root or --chown's owner), not a copy.
        let mode = entry.target.isEmpty ? (self.mode ?? 0o755) : mode
        let (uid, gid) = entry.target.isEmpty ? (owner ?? (0, 0)) : (uid, gid)
        if exists && !existingIsDirectory {
          unlinkat(parent, name, 0)
          if let stale = parents.removeValue(forKey: path) { close(stale) }
        }
        if !existingIsDirectory {
          try check("create \(path)") { mkdirat(parent, name, 0o700) }
        }
        // An existing directory keeps its metadata unless the copy names it.
        if !existingIsDirectory || !entry.target.isEmpty || owner != nil || self.mode != nil {
          try check("chown \(path)") { fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
          try check("chmod \(path)") { fchmodat(parent, name, mode, 0) }
        }
        if !existingIsDirectory || !entry.target.isEmpty { directories.append((path, time)) }
        continue
      case .file, .heredoc, .hostFile:
        if existingIsDirectory {
          throw BerthError(
            .invalidArgument, "cannot copy a file over the directory \(path)",
            hint: "end the destination with / to copy into it")
        }
        if exists { unlinkat(parent, name, 0) }
        let out = try check("create \(path)") {
          openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        defer { close(out) }
        if entry.kind == .heredoc {
          try FileDescriptor(rawValue: out).writeFully(Array(entry.source.utf8), what: path)
        } else if entry.kind == .hostFile {
          let input = open(entry.source, O_RDONLY | O_CLOEXEC)
          guard input >= 0 else { throw BerthError.system("open \(entry.source)", currentErrno) }
          defer { close(input) }
          try copyContent(from: input, to: out, what: path)
        } else {
          let input = tree.open(entry.source, flags: O_RDONLY | O_NOFOLLOW)
          guard input >= 0 else { throw BerthError.system("open \(entry.source)", currentErrno) }
          defer { close(input) }
          try copyContent(from: input, to: out, what: path)
        }
        try check("chown \(path)") { fchown(out, uid, gid) }
        try check("chmod \(path)") { fchmod(out, mode) }
        var times = [time, time]
        try check("set the time of \(path)") { futimens(out, &times) }
      case .symlink:
        if existingIsDirectory {
          throw BerthError(
            .invalidArgument, "cannot copy a symlink over the directory \(path)",
            hint: "end the destination with / to copy into it")
        }
        if exists { unlinkat(parent, name, 0) }
        try check("create \(path)") { symlinkat(entry.link ?? "", parent, name) }
        try check("chown \(path)") { fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
        var times = [time, time]
        try check("set the time of \(path)") {
          utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
        }
      case .fifo:
        if exists && !existingIsDirectory { unlinkat(parent, name, 0) }
        try check("create \(path)") { mkfifoat(parent, name, mode) }
        try check("chown \(path)") { fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
      }
    }
    // Directory times last: writing their contents moved them.
    for (path, time) in directories.reversed() {
      let (parentPath, name) = RootFS.split(path)
      let parent = try parentDirectory(parentPath)
      var times = [time, time]
      utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
    }
  }

  func copyContent(from input: Int32, to output: Int32, what: String) throws {
    while true {
      // In the kernel, no copy through user space.
      let copied = sendfile(output, input, nil, 1 << 30)
      if copied == 0 { return }
      if copied > 0 { continue }
      if currentErrno == .interrupted { continue }
      break
    }
    // Where sendfile cannot: read and write.
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let got = read(input, &buffer, buffer.count)
      if got < 0 && currentErrno == .interrupted { continue }
      guard got >= 0 else { throw BerthError.system("read for \(what)", currentErrno) }
      if got == 0 { return }
      try FileDescriptor(rawValue: output).writeFully(Array(buffer[0..<got]), what: what)
    }
  }
}
