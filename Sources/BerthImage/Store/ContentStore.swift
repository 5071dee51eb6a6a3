// The content store: blobs named by their digest, verified while they are
// written (a blob is only ever renamed into place after its digest and size
// matched), plus the image records that give names to manifests.
//
// Layout under the storage root:
//   blobs/sha256/HEX      manifests, configs, compressed layers
//   ingest/               partial blobs (removed on failure, swept by prune)
//   layers/HEX/diff       an unpacked layer, named by its chain id
//   layers/HEX/layer.json its diff id, parent chain id and size
//   snapshots/ID/         a container's upper, work and merged directories
//   images.json           image records, replaced atomically
//   images.lock           held exclusively while images.json is rewritten
//   gc.lock               shared while content is added, exclusive to collect
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc
import SystemPackage

/// A blob being written: bytes go to a temp file under ingest/ and through
/// the hasher; `commit` checks digest and size before renaming into place.
public final class BlobWriter {
  let store: ContentStore
  let expected: Digest?
  let expectedSize: Int64?
  let tempPath: String
  private var fd: Int32
  private var hasher: Hasher
  public private(set) var written: Int64 = 0

  init(store: ContentStore, expected: Digest?, expectedSize: Int64?) throws {
    self.store = store
    self.expected = expected
    self.expectedSize = expectedSize
    self.hasher = Hasher(expected?.algorithm ?? .sha256)
    tempPath = "\(store.root)/ingest/\(Sys.randomHex(12))"
    fd = try Sys.open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
  }

  public func write(_ buffer: UnsafeRawBufferPointer) throws {
    written += Int64(buffer.count)
    if let expectedSize, written > expectedSize {
      abort()
      throw BerthError(
        .invalidArgument,
        "blob \(expected.map(\.description) ?? "") is larger than its declared \(expectedSize) bytes",
        hint: "the source sent more data than the manifest declares; nothing was stored")
    }
    hasher.update(buffer)
    try Sys.writeAll(fd, buffer, what: "write \(tempPath)")
  }

  /// Drops what was written, to start the blob over.
  public func reset() throws {
    try Sys.check("truncate \(tempPath)") { ftruncate(fd, 0) }
    try Sys.check("seek \(tempPath)") { Int32(truncatingIfNeeded: lseek(fd, 0, SEEK_SET)) }
    hasher = Hasher(expected?.algorithm ?? .sha256)
    written = 0
  }

  public func write(_ bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try write($0) }
  }

  /// Verifies and stores the blob; returns its digest and size.
  @discardableResult
  public func commit() throws -> (digest: Digest, size: Int64) {
    let digest = hasher.finalize()
    if let expected, digest != expected {
      abort()
      throw BerthError(
        .invalidArgument, "digest mismatch: expected \(expected), got \(digest)",
        hint: "the content was corrupted or tampered with in transit; nothing was stored")
    }
    if let expectedSize, written != expectedSize {
      abort()
      throw BerthError(
        .invalidArgument,
        "size mismatch for \(digest): expected \(expectedSize) bytes, got \(written)",
        hint: "the transfer was truncated; nothing was stored")
    }
    do {
      try Sys.check("fsync \(tempPath)") { fsync(fd) }
      Sys.close(fd)
      fd = -1
      let final = store.blobPath(digest)
      try Sys.check("store blob \(digest)") { rename(tempPath, final) }
      try Sys.fsyncDirectory(Sys.parentPath(final))
    } catch {
      abort()
      throw error
    }
    return (digest, written)
  }

  public func abort() {
    if fd >= 0 { Sys.close(fd) }
    fd = -1
    unlink(tempPath)
  }

  deinit { if fd >= 0 { abort() } }
}

/// One image known to the store, named by its config digest as podman does.
public struct ImageRecord: Codable, Sendable, Hashable {
  public var id: Digest
  public var manifest: Digest
  public var manifestMediaType: String
  /// Digests the image is known by: its manifest and any index it came from.
  public var digests: [Digest]
  /// Fully qualified references: `docker.io/library/busybox:latest`.
  public var names: [String]
  /// When the image was built (from its config), RFC 3339.
  public var created: String?
  /// When it entered this store, RFC 3339.
  public var added: String
  /// Compressed bytes of config and layers.
  public var size: Int64
  /// A build step's result (layers only, no name): `images` shows it only
  /// with `--all`, as podman hides intermediate images.
  public var intermediate: Bool?

  public init(
    id: Digest, manifest: Digest, manifestMediaType: String, digests: [Digest],
    names: [String], created: String?, added: String, size: Int64
  ) {
    self.id = id
    self.manifest = manifest
    self.manifestMediaType = manifestMediaType
    self.digests = digests
    self.names = names
    self.created = created
    self.added = added
    self.size = size
  }
}

struct ImageDatabase: Codable {
  var version = 1
  var images: [ImageRecord] = []
}

/// Metadata of an unpacked layer.
public struct LayerRecord: Codable, Sendable {
  public var chainID: Digest
  public var diffID: Digest
  public var parent: Digest?
  public var size: Int64
}

public final class ContentStore: @unchecked Sendable {
  public let root: String
  /// Whether this process runs without root: device nodes are refused,
  /// ownership is not changed and overlay xattrs go in the user namespace.
  public let rootless: Bool

  /// The `berth` executable that runs rootless helpers in a user namespace
  /// (nil: no helpers; files then belong to the calling user).
  public let helper: String?

  public init(
    root: String, rootless: Bool = geteuid() != 0, helper: String? = ContentStore.selfExecutable
  )
    throws
  {
    self.root = root
    self.rootless = rootless
    self.helper = helper
    for dir in ["", "/blobs/sha256", "/blobs/sha512", "/ingest", "/layers", "/snapshots"] {
      try Sys.mkdirs(root + dir)
    }
  }

  /// This process's executable when it is `berth` (not, say, a test runner
  /// using the library), for rootless helpers.
  public static var selfExecutable: String? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return Sys.lastComponent(path) == "berth" ? path : nil
  }

  /// The default storage root: /var/lib/berth, or $XDG_DATA_HOME/berth rootless.
  public static func defaultRoot(rootless: Bool = geteuid() != 0) -> String {
    guard rootless else { return "/var/lib/berth" }
    if let xdg = getenv("XDG_DATA_HOME"), xdg.pointee != 0 {
      return String(cString: xdg) + "/berth"
    }
    let home = getenv("HOME").map { String(cString: $0) } ?? "/tmp"
    return home + "/.local/share/berth"
  }

  /// The default run root: /run/berth, or $XDG_RUNTIME_DIR/berth rootless.
  public static func defaultRunRoot(rootless: Bool = geteuid() != 0) -> String {
    guard rootless else { return "/run/berth" }
    if let xdg = getenv("XDG_RUNTIME_DIR"), xdg.pointee != 0 {
      return String(cString: xdg) + "/berth"
    }
    return "/tmp/berth-\(getuid())"
  }

  // MARK: Blobs

  public func blobPath(_ digest: Digest) -> String {
    "\(root)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
  }

  public func hasBlob(_ digest: Digest) -> Bool { Sys.exists(blobPath(digest)) }

  public func blobSize(_ digest: Digest) throws -> Int64 { try Sys.fileSize(blobPath(digest)) }

  public func readBlob(_ digest: Digest, limit: Int = 64 << 20) throws -> [UInt8] {
    do {
      return try Sys.readFile(blobPath(digest), limit: limit)
    } catch let error as BerthError where error.code == .notFound {
      throw BerthError(
        .notFound, "blob \(digest) is not in the store",
        hint: "pull or load the image again")
    }
  }

  /// Starts writing a blob; `expected` and `size`, when known, are checked.
  public func ingest(expected: Digest?, size: Int64? = nil) throws -> BlobWriter {
    if let size {
      // A descriptor may declare any size: refuse what cannot fit before
      // writing a byte, rather than filling the disk.
      var fs = statvfs()
      try Sys.check("statvfs \(root)") { statvfs(root + "/ingest", &fs) }
      let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
      guard size >= 0, size <= free else {
        throw BerthError(
          .invalidArgument,
          "blob \(expected.map(\.short) ?? "") declares \(size) bytes but \(root) has \(free) free",
          hint: "free space in the storage root, or the manifest is bogus")
      }
    }
    return try BlobWriter(store: self, expected: expected, expectedSize: size)
  }

  /// Stores bytes as a blob, checked against `expected` when given.
  @discardableResult
  public func writeBlob(_ bytes: [UInt8], expected: Digest? = nil) throws -> Digest {
    let digest = Hasher.digest(bytes)
    if let expected, expected.algorithm == .sha256, expected != digest {
      throw BerthError(
        .invalidArgument, "digest mismatch: expected \(expected), got \(digest)",
        hint: "nothing was stored")
    }
    if hasBlob(digest) { return digest }
    let writer = try ingest(expected: expected ?? digest, size: Int64(bytes.count))
    try writer.write(bytes)
    return try writer.commit().digest
  }

  /// Decodes a JSON blob.
  public func readJSON<T: Decodable>(_ type: T.Type, _ digest: Digest) throws -> T {
    let bytes = try readBlob(digest)
    do {
      return try JSONDecoder().decode(T.self, from: Data(bytes))
    } catch {
      throw BerthError(
        .invalidArgument, "blob \(digest) is not a valid \(T.self): \(error)")
    }
  }

  // MARK: Locks

  /// Held shared while content is added, so a concurrent prune cannot remove
  /// blobs that are written but not yet referenced by an image record.
  public func lockContent(exclusive: Bool = false) throws -> AnyObject {
    try FileLock(path: "\(root)/gc.lock", mode: exclusive ? .exclusive : .shared)
  }

  // MARK: Image records

  var databasePath: String { "\(root)/images.json" }

  public func images() throws -> [ImageRecord] {
    guard Sys.exists(databasePath) else { return [] }
    let bytes = try Sys.readFile(databasePath)
    do {
      return try JSONDecoder().decode(ImageDatabase.self, from: Data(bytes)).images
    } catch {
      throw BerthError(
        .internalError, "image database \(databasePath) is corrupt: \(error)",
        hint: "move it away and pull or load the images again")
    }
  }

  /// Read-modify-write of the image records under an exclusive lock; the new
  /// file replaces the old one atomically.
  public func updateImages<T>(_ body: (inout [ImageRecord]) throws -> T) throws -> T {
    let lock = try FileLock(path: "\(root)/images.lock", mode: .exclusive)
    defer { lock.unlock() }
    var images = try self.images()
    let result = try body(&images)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = try encoder.encode(ImageDatabase(images: images))
    try Sys.writeFileAtomically(databasePath, Array(data))
    return result
  }

  /// Adds or merges an image; names move from any other image to this one.
  public func addImage(_ record: ImageRecord) throws {
    try updateImages { images in
      for index in images.indices {
        images[index].names.removeAll { record.names.contains($0) }
      }
      if let index = images.firstIndex(where: { $0.id == record.id }) {
        var merged = images[index]
        merged.names += record.names.filter { !merged.names.contains($0) }
        merged.digests += record.digests.filter { !merged.digests.contains($0) }
        merged.manifest = record.manifest
        merged.manifestMediaType = record.manifestMediaType
        images[index] = merged
      } else {
        images.append(record)
      }
      // An image that lost its last name stays, as podman keeps <none> images.
    }
  }

  /// Finds an image by id (or unique id prefix), name, or name@digest.
  public func resolveImage(_ text: String) throws -> ImageRecord {
    let images = try self.images()
    var hex = Substring(text)
    if hex.hasPrefix("sha256:") { hex = hex.dropFirst(7) }
    if hex.count >= 3, hex.count <= 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
      let matches = images.filter { $0.id.encoded.hasPrefix(hex) }
      if matches.count == 1 { return matches[0] }
      if matches.count > 1 {
        throw BerthError(
          .invalidArgument, "image id prefix \"\(text)\" is ambiguous",
          hint: "give more characters of the id")
      }
    }
    let reference = try Reference(parsing: text)
    if let digest = reference.digest {
      if let found = images.first(where: { image in
        image.digests.contains(digest)
          && image.names.contains {
            $0.hasPrefix(reference.repository + ":") || $0.hasPrefix(reference.repository + "@")
          }
      }) ?? images.first(where: { $0.digests.contains(digest) }) {
        return found
      }
    } else {
      for candidate in Self.candidates(reference) {
        if let found = images.first(where: { $0.names.contains(candidate) }) { return found }
      }
    }
    throw BerthError(
      .notFound, "image \(text) is not in the store",
      hint: "pull or load it first; `berth images` lists what is there")
  }

  /// Names a short reference may stand for in the local store.
  static func candidates(_ reference: Reference) -> [String] {
    var names = [reference.description]
    if reference.isShortName {
      let path =
        reference.path.hasPrefix("library/") ? String(reference.path.dropFirst(8)) : reference.path
      names.append("localhost/\(path):\(reference.tag ?? Reference.defaultTag)")
    }
    return names
  }

  // MARK: Layers

  public func layerPath(_ chainID: Digest) -> String { "\(root)/layers/\(chainID.encoded)" }

  public func layerDiffPath(_ chainID: Digest) -> String { layerPath(chainID) + "/diff" }

  public func hasLayer(_ chainID: Digest) -> Bool { Sys.exists(layerPath(chainID) + "/layer.json") }

  public func layerRecord(_ chainID: Digest) throws -> LayerRecord {
    let bytes = try Sys.readFile(layerPath(chainID) + "/layer.json")
    return try JSONDecoder().decode(LayerRecord.self, from: Data(bytes))
  }

  /// chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
  public static func chainIDs(_ diffIDs: [Digest]) -> [Digest] {
    var result: [Digest] = []
    for diffID in diffIDs {
      if let last = result.last {
        result.append(Hasher.digest(Array("\(last) \(diffID)".utf8)))
      } else {
        result.append(diffID)
      }
    }
    return result
  }

  /// Image manifest and config of a record.
  public func manifest(of image: ImageRecord) throws -> Manifest {
    try readJSON(Manifest.self, image.manifest)
  }

  public func config(of image: ImageRecord) throws -> ImageConfig {
    try readJSON(ImageConfig.self, image.id)
  }

  /// Bytes of the image's unpacked files (what podman shows as its size),
  /// or its compressed size when a layer's record is unreadable.
  public func unpackedSize(of image: ImageRecord) -> Int64 {
    guard let config = try? config(of: image) else { return image.size }
    var total: Int64 = 0
    for chain in Self.chainIDs(config.rootfs.diffIDs) {
      guard let record = try? layerRecord(chain) else { return image.size }
      total += record.size
    }
    return total
  }

  /// Paths of an image's unpacked layers, lowest first. A layer a build
  /// committed without unpacking it is unpacked from its blob now.
  public func layerPaths(of image: ImageRecord) throws -> [String] {
    let config = try config(of: image)
    let chains = Self.chainIDs(config.rootfs.diffIDs)
    if let missing = chains.firstIndex(where: { !hasLayer($0) }) {
      let manifest = try manifest(of: image)
      guard manifest.layers.count == chains.count,
        manifest.layers[missing...].allSatisfy({ hasBlob($0.digest) })
      else {
        throw BerthError(
          .notFound, "layer \(chains[missing]) of image \(image.id.short) is not unpacked",
          hint: "pull the image again")
      }
      // Shared: garbage collection (exclusive) must not take a layer half made.
      let lock = try lockContent()
      defer { withExtendedLifetime(lock) {} }
      for index in missing..<chains.count {
        try unpackLayer(
          blob: manifest.layers[index].digest, diffID: config.rootfs.diffIDs[index],
          chainID: chains[index], parent: index > 0 ? chains[index - 1] : nil)
      }
    }
    return chains.map(layerDiffPath)
  }

  static func now() -> String { Date.now.formatted(.iso8601) }
}
