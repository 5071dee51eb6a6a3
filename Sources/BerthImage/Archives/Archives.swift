// Image archives: docker-archive (`docker save`), oci-archive (a tar of an
// OCI image layout) and oci-dir (the layout as a directory). Loading unpacks
// an archive with the same in-root, symlink-refusing writer as layers, then
// imports from the directory, verifying every blob against its digest.
import BerthOCI
import BerthSystem
import CArchive
import Foundation
import Glibc
import SystemPackage

public enum ArchiveFormat: String, Sendable, CaseIterable {
  case dockerArchive = "docker-archive"
  case ociArchive = "oci-archive"
  case ociDir = "oci-dir"
}

/// Writes a ustar stream of regular files and directories: all that image
/// archives contain, so no libarchive writer is needed.
struct TarWriter {
  let fd: Int32
  let path: String

  private func octal(_ value: Int64, _ width: Int) -> [UInt8] {
    let text = String(value, radix: 8)
    let padded = String(repeating: "0", count: max(0, width - 1 - text.count)) + text
    return Array(padded.utf8) + [0]
  }

  private func header(name: String, size: Int64, mode: Int64, type: UInt8) throws -> [UInt8] {
    var block = [UInt8](repeating: 0, count: 512)
    let nameBytes = Array(name.utf8)
    guard nameBytes.count <= 100 else {
      throw BerthError(.internalError, "archive member name too long: \(name)")
    }
    block.replaceSubrange(0..<nameBytes.count, with: nameBytes)
    block.replaceSubrange(100..<108, with: octal(mode, 8))
    block.replaceSubrange(108..<116, with: octal(0, 8))
    block.replaceSubrange(116..<124, with: octal(0, 8))
    block.replaceSubrange(124..<136, with: octal(size, 12))
    block.replaceSubrange(136..<148, with: octal(0, 12))
    block.replaceSubrange(148..<156, with: Array(repeating: 0x20, count: 8))
    block[156] = type
    block.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
    let sum = block.reduce(0) { $0 + Int64($1) }
    block.replaceSubrange(148..<156, with: octal(sum, 7) + [0x20])
    return block
  }

  func directory(_ name: String) throws {
    try Sys.writeAll(
      fd, try header(name: name + "/", size: 0, mode: 0o755, type: 0x35), what: "write \(path)")
  }

  func file(_ name: String, bytes: [UInt8]) throws {
    try Sys.writeAll(
      fd, try header(name: name, size: Int64(bytes.count), mode: 0o644, type: 0x30),
      what: "write \(path)")
    try Sys.writeAll(fd, bytes, what: "write \(path)")
    try pad(Int64(bytes.count))
  }

  /// Copies a file from disk into the stream.
  func file(_ name: String, from source: String) throws {
    let size = try Sys.fileSize(source)
    try Sys.writeAll(
      fd, try header(name: name, size: size, mode: 0o644, type: 0x30), what: "write \(path)")
    let input = try Sys.open(source, O_RDONLY)
    defer { Sys.close(input) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var copied: Int64 = 0
    while true {
      let n = try buffer.withUnsafeMutableBytes { raw in
        try Sys.check("read \(source)") { read(input, raw.baseAddress, raw.count) }
      }
      if n == 0 { break }
      try buffer.withUnsafeBytes {
        try Sys.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<n]), what: "write \(path)")
      }
      copied += Int64(n)
    }
    guard copied == size else {
      throw BerthError(.system, "\(source) changed size while being archived")
    }
    try pad(size)
  }

  private func pad(_ size: Int64) throws {
    let rest = Int((512 - size % 512) % 512)
    if rest > 0 { try Sys.writeAll(fd, [UInt8](repeating: 0, count: rest), what: "write \(path)") }
  }

  func finish() throws {
    try Sys.writeAll(fd, [UInt8](repeating: 0, count: 1024), what: "write \(path)")
  }
}

extension ContentStore {
  // MARK: Save

  /// Writes images to `output` in `format`. Archives are written to a temp
  /// file renamed into place, so a failed save leaves no partial file.
  public func save(_ names: [String], format: ArchiveFormat, to output: String) throws {
    guard !names.isEmpty else { throw BerthError(.invalidArgument, "no image to save") }
    if format != .dockerArchive && names.count > 1 {
      throw BerthError(
        .unsupported, "\(format.rawValue) holds one image",
        hint: "use --format docker-archive to save several images into one archive")
    }
    let images = try names.map { name in (name, try resolveImage(name)) }
    switch format {
    case .ociDir:
      try writeLayout(images[0].1, name: images[0].0, into: output)
    case .ociArchive:
      let staging = "\(root)/ingest/layout-\(Sys.randomHex(8))"
      defer { try? Sys.removeTree(staging) }
      try writeLayout(images[0].1, name: images[0].0, into: staging)
      try writeArchive(output) { tar in
        for relative in try Self.walkFiles(staging) {
          if Sys.isDirectory("\(staging)/\(relative)") {
            try tar.directory(relative)
          } else {
            try tar.file(relative, from: "\(staging)/\(relative)")
          }
        }
      }
    case .dockerArchive:
      try writeArchive(output) { tar in
        var entries: [DockerArchiveEntry] = []
        var written: Set<String> = []
        for (name, image) in images {
          let manifest = try self.manifest(of: image)
          let config = try self.config(of: image)
          let configName = "\(image.id.encoded).json"
          if written.insert(configName).inserted {
            try tar.file(configName, bytes: try readBlob(image.id))
          }
          var layerNames: [String] = []
          for (index, layer) in manifest.layers.enumerated() {
            let diffID = config.rootfs.diffIDs[index]
            let layerName = "\(diffID.encoded).tar"
            layerNames.append(layerName)
            guard written.insert(layerName).inserted else { continue }
            // docker-archive layers are uncompressed tars named by diff id.
            let temp = "\(root)/ingest/layer-\(Sys.randomHex(8))"
            defer { unlink(temp) }
            let got = try LayerUnpacker.decompress(blob: blobPath(layer.digest), to: temp)
            guard got == diffID else {
              throw BerthError(
                .invalidArgument,
                "layer \(layer.digest.short) decompresses to \(got), not \(diffID)")
            }
            try tar.file(layerName, from: temp)
          }
          var tags = image.names
          if let reference = try? Reference(parsing: name), reference.digest == nil,
            image.names.contains(reference.description)
          {
            tags = [reference.description]
          }
          entries.append(
            DockerArchiveEntry(config: configName, repoTags: tags, layers: layerNames))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        try tar.file("manifest.json", bytes: Array(try encoder.encode(entries)))
      }
    }
  }

  private func writeArchive(_ output: String, _ body: (TarWriter) throws -> Void) throws {
    let temp = "\(Sys.parentPath(output))/.\(Sys.lastComponent(output)).tmp-\(Sys.randomHex(4))"
    let fd = try Sys.open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    do {
      let tar = TarWriter(fd: fd, path: output)
      try body(tar)
      try tar.finish()
      try Sys.check("fsync \(temp)") { fsync(fd) }
    } catch {
      Sys.close(fd)
      unlink(temp)
      throw error
    }
    Sys.close(fd)
    do {
      try Sys.check("rename \(temp) to \(output)") { rename(temp, output) }
    } catch {
      unlink(temp)
      throw error
    }
  }

  /// Files and directories under `dir`, parents first, relative paths.
  static func walkFiles(_ dir: String, prefix: String = "") throws -> [String] {
    var result: [String] = []
    for name in try Sys.listDirectory(prefix.isEmpty ? dir : "\(dir)/\(prefix)").sorted() {
      let relative = prefix.isEmpty ? name : "\(prefix)/\(name)"
      result.append(relative)
      if Sys.isDirectory("\(dir)/\(relative)") {
        result += try walkFiles(dir, prefix: relative)
      }
    }
    return result
  }

  /// Writes an OCI image layout with one image.
  func writeLayout(_ image: ImageRecord, name: String, into dir: String) throws {
    if Sys.exists(dir), try !Sys.listDirectory(dir).isEmpty {
      throw BerthError(
        .alreadyExists, "\(dir) exists and is not empty", hint: "choose a new output path")
    }
    try Sys.mkdirs(dir + "/blobs/sha256", mode: 0o755)
    let manifest = try self.manifest(of: image)
    for digest in [image.manifest, manifest.config.digest] + manifest.layers.map(\.digest) {
      try copyFile(
        blobPath(digest), to: "\(dir)/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)")
    }
    var annotations: [String: String] = [:]
    let reference = (try? Reference(parsing: name)).flatMap { $0.digest == nil ? $0 : nil }
    if let named = reference.map(\.description) ?? image.names.first {
      annotations[AnnotationKey.refName] = named
    }
    let descriptor = Descriptor(
      mediaType: image.manifestMediaType, digest: image.manifest,
      size: try blobSize(image.manifest), annotations: annotations.isEmpty ? nil : annotations)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    try Sys.writeFileAtomically(
      dir + "/index.json", Array(try encoder.encode(Index(manifests: [descriptor]))))
    try Sys.writeFileAtomically(dir + "/oci-layout", Array(try encoder.encode(ImageLayout())))
  }

  private func copyFile(_ source: String, to destination: String) throws {
    let input = try Sys.open(source, O_RDONLY)
    defer { Sys.close(input) }
    let output = try Sys.open(destination, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    defer { Sys.close(output) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = try buffer.withUnsafeMutableBytes { raw in
        try Sys.check("read \(source)") { read(input, raw.baseAddress, raw.count) }
      }
      if n == 0 { break }
      try buffer.withUnsafeBytes {
        try Sys.writeAll(
          output, UnsafeRawBufferPointer(rebasing: $0[0..<n]), what: "write \(destination)")
      }
    }
  }

  // MARK: Load

  /// Loads every image of an archive or layout directory; format detected.
  public func load(from input: String, platform: Platform = .host) throws -> [ImageRecord] {
    let lock = try lockContent()
    defer { withExtendedLifetime(lock) {} }
    if Sys.isDirectory(input) {
      return try loadDirectory(input, platform: platform, origin: input)
    }
    guard Sys.exists(input) else {
      throw BerthError(
        .notFound, "\(input) does not exist", hint: "give an archive file or OCI layout directory")
    }
    let staging = "\(root)/ingest/load-\(Sys.randomHex(8))"
    try Sys.mkdirs(staging)
    defer { try? Sys.removeTree(staging) }
    // Unpacked as a layer would be, so a hostile archive cannot write outside.
    _ = try LayerUnpacker.unpack(
      blob: input, into: staging, options: UnpackOptions(rootless: true, name: input))
    return try loadDirectory(staging, platform: platform, origin: input)
  }

  private func loadDirectory(_ dir: String, platform: Platform, origin: String) throws
    -> [ImageRecord]
  {
    if Sys.exists(dir + "/oci-layout") { return try loadLayout(dir, platform: platform) }
    if Sys.exists(dir + "/manifest.json") { return try loadDockerArchive(dir) }
    throw BerthError(
      .invalidArgument, "\(origin) is neither a docker-archive nor an OCI layout",
      hint: "expected manifest.json (docker save) or oci-layout (OCI)")
  }

  /// Whether a layer file starts with gzip's magic bytes (reads two bytes).
  static func startsWithGzipMagic(_ path: String) throws -> Bool {
    let fd = try Sys.open(path, O_RDONLY)
    defer { Sys.close(fd) }
    var magic: [UInt8] = [0, 0]
    let n = try Sys.check("read \(path)") { pread(fd, &magic, 2, 0) }
    return n == 2 && magic == [0x1F, 0x8B]
  }

  /// Resolves an archive-relative path to a regular file inside `dir`.
  /// Symlinks (docker save links repeated layers to one copy) are followed
  /// lexically, component by component, and may not leave the archive.
  public func member(_ dir: String, _ relative: String) throws -> String {
    func escape() -> BerthError {
      BerthError(
        .invalidArgument, "archive refers to \"\(relative)\", outside itself",
        hint: "the archive is malformed or malicious")
    }
    guard !relative.hasPrefix("/") else { throw escape() }
    var pending = relative.split(separator: "/").map(String.init)
    var resolved: [String] = []
    var hops = 0
    while !pending.isEmpty {
      let component = pending.removeFirst()
      if component == "." || component.isEmpty { continue }
      if component == ".." {
        guard !resolved.isEmpty else { throw escape() }
        resolved.removeLast()
        continue
      }
      let path = ([dir] + resolved + [component]).joined(separator: "/")
      var st = stat()
      guard lstat(path, &st) == 0 else {
        throw BerthError(.invalidArgument, "archive member \"\(relative)\" is missing")
      }
      if (st.st_mode & S_IFMT) == S_IFLNK {
        hops += 1
        guard hops <= 16 else {
          throw BerthError(.invalidArgument, "too many symlinks in \"\(relative)\"")
        }
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { throw BerthError.system("read link \(path)", Errno(rawValue: errno)) }
        let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard !target.hasPrefix("/") else { throw escape() }
        pending = target.split(separator: "/").map(String.init) + pending
        continue
      }
      resolved.append(component)
    }
    let path = ([dir] + resolved).joined(separator: "/")
    var st = stat()
    guard !resolved.isEmpty, lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
      throw BerthError(.invalidArgument, "archive member \"\(relative)\" is missing or not a file")
    }
    return path
  }

  /// Copies a file into the store as a blob, verified against `expected`.
  @discardableResult
  private func importBlob(_ path: String, expected: Digest?, size: Int64? = nil) throws -> (
    Digest, Int64
  ) {
    if let expected, hasBlob(expected) { return (expected, try blobSize(expected)) }
    let writer = try ingest(expected: expected, size: size)
    let input = try Sys.open(path, O_RDONLY)
    defer { Sys.close(input) }
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = try buffer.withUnsafeMutableBytes { raw in
        try Sys.check("read \(path)") { read(input, raw.baseAddress, raw.count) }
      }
      if n == 0 { break }
      try buffer.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    return try writer.commit()
  }

  private func loadLayout(_ dir: String, platform: Platform) throws -> [ImageRecord] {
    // Through member(): index.json may not be a symlink out of the archive.
    let index = try JSONDecoder().decode(
      Index.self, from: Data(try Sys.readFile(try member(dir, "index.json"))))
    func blob(_ digest: Digest) throws -> String {
      try member(dir, "blobs/\(digest.algorithm.rawValue)/\(digest.encoded)")
    }
    var records: [ImageRecord] = []
    for entry in index.manifests {
      var descriptor = entry
      var extra: [Digest] = []
      if MediaType.indexes.contains(descriptor.mediaType) {
        try importBlob(
          try blob(descriptor.digest), expected: descriptor.digest, size: descriptor.size)
        let nested = try readJSON(Index.self, descriptor.digest)
        guard let chosen = nested.manifest(for: platform) else {
          throw BerthError(.notFound, "the archive has no image for \(platform)")
        }
        extra.append(descriptor.digest)
        descriptor = chosen
      }
      guard MediaType.manifests.contains(descriptor.mediaType) else {
        throw BerthError(
          .unsupported, "archive entry has unknown media type \(descriptor.mediaType)")
      }
      try importBlob(
        try blob(descriptor.digest), expected: descriptor.digest, size: descriptor.size)
      let manifestBytes = try readBlob(descriptor.digest)
      let manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
      for part in [manifest.config] + manifest.layers {
        try importBlob(try blob(part.digest), expected: part.digest, size: part.size)
      }
      var names: [String] = []
      let annotated =
        entry.annotations?[AnnotationKey.imageName] ?? entry.annotations?[AnnotationKey.refName]
      if let annotated, let reference = try? Reference(parsing: annotated),
        !reference.isShortName || annotated.contains(":") || annotated.contains("/")
      {
        if reference.digest == nil { names.append(reference.description) }
      }
      records.append(
        try commitImage(
          manifestBytes: manifestBytes, mediaType: descriptor.mediaType, extraDigests: extra,
          names: names))
    }
    return records
  }

  private func loadDockerArchive(_ dir: String) throws -> [ImageRecord] {
    let entries = try JSONDecoder().decode(
      [DockerArchiveEntry].self, from: Data(try Sys.readFile(try member(dir, "manifest.json"))))
    var records: [ImageRecord] = []
    for entry in entries {
      let (configDigest, configSize) = try importBlob(try member(dir, entry.config), expected: nil)
      var layers: [Descriptor] = []
      for layer in entry.layers {
        let path = try member(dir, layer)
        let (digest, size) = try importBlob(path, expected: nil)
        let gzip = try Self.startsWithGzipMagic(path)
        layers.append(
          Descriptor(
            mediaType: gzip ? MediaType.dockerLayerGzip : MediaType.dockerLayerTar, digest: digest,
            size: size))
      }
      let manifest = Manifest(
        mediaType: MediaType.dockerManifest,
        config: Descriptor(
          mediaType: MediaType.dockerConfig, digest: configDigest, size: configSize),
        layers: layers)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      let names = try (entry.repoTags ?? []).map { try Reference(parsing: $0).description }
      records.append(
        try commitImage(
          manifestBytes: Array(try encoder.encode(manifest)), mediaType: MediaType.dockerManifest,
          names: names))
    }
    return records
  }
}
