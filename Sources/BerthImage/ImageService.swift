// Image operations on a store: pull, push, tag, remove, prune, and the layer
// unpack that shares directories between images by chain id.
import BerthOCI
import BerthSystem
import Foundation
import Glibc

/// Progress lines (one per step) for a terminal or a log; silent when nil.
public typealias ProgressSink = @Sendable (String) -> Void

/// Bytes received of a blob so far, and its size, for progress bars.
public typealias ByteProgress = @Sendable (_ blob: Digest, _ done: Int64, _ total: Int64) -> Void

extension ContentStore {
  /// Ensures the layer named `chainID` is unpacked from `blob` and that its
  /// uncompressed stream hashes to `diffID`. Unpacks into a temp directory
  /// renamed into place, so a crash never leaves a half layer under its name.
  public func unpackLayer(blob: Digest, diffID: Digest, chainID: Digest, parent: Digest?) throws {
    if hasLayer(chainID) { return }
    let temp = "\(root)/layers/.tmp-\(Sys.randomHex(8))"
    try Sys.check("create \(temp)") { mkdir(temp, 0o700) }
    do {
      try Sys.check("create \(temp)/diff") { mkdir(temp + "/diff", 0o755) }
      let result = try unpackAsOwner(blob: blob, into: temp + "/diff")
      guard result.diffID == diffID else {
        throw BerthError(
          .invalidArgument,
          "layer \(blob.short): uncompressed digest \(result.diffID) does not match the config's \(diffID)",
          hint: "the image is corrupt or was tampered with; nothing was unpacked")
      }
      let record = LayerRecord(
        chainID: chainID, diffID: diffID, parent: parent, size: result.contentSize)
      try Sys.writeFileAtomically(temp + "/layer.json", Array(try JSONEncoder().encode(record)))
      try install(temp, as: layerPath(chainID), what: "store layer \(chainID.short)")
      try Sys.fsyncDirectory(root + "/layers")
    } catch {
      try? removeOwnedTree(temp)
      throw error
    }
  }

  /// Records `directory` (an overlay upper directory whose tar was just
  /// written as the layer `diffID`) as that layer's unpacked tree, by
  /// renaming it into the store: a build's step need not unpack the tar it
  /// made from these very files. Same filesystem only (both under the root).
  public func adoptLayer(
    directory: String, diffID: Digest, chainID: Digest, parent: Digest?, size: Int64
  ) throws {
    if hasLayer(chainID) { return }
    let temp = "\(root)/layers/.tmp-\(Sys.randomHex(8))"
    try Sys.check("create \(temp)") { mkdir(temp, 0o700) }
    do {
      try Sys.check("move \(directory) into the layer store") { rename(directory, temp + "/diff") }
      let record = LayerRecord(chainID: chainID, diffID: diffID, parent: parent, size: size)
      try Sys.writeFileAtomically(temp + "/layer.json", Array(try JSONEncoder().encode(record)))
      try install(temp, as: layerPath(chainID), what: "store layer \(chainID.short)")
    } catch {
      try? removeOwnedTree(temp)
      throw error
    }
  }

  /// Renames a finished temp directory to its name. When another berth
  /// finished the same one meanwhile, theirs is kept and ours removed.
  func install(_ temp: String, as path: String, what: String) throws {
    guard let error = Sys.attempt({ rename(temp, path) }) else { return }
    guard error == .directoryNotEmpty || error == .fileExists else {
      throw BerthError.system(what, error)
    }
    try removeOwnedTree(temp)
  }

  /// Unpacks every layer of an image (in order; each only once).
  public func unpackLayers(manifest: Manifest, config: ImageConfig) throws {
    let chains = ContentStore.chainIDs(config.rootfs.diffIDs)
    for (index, layer) in manifest.layers.enumerated() {
      try unpackLayer(
        blob: layer.digest, diffID: config.rootfs.diffIDs[index], chainID: chains[index],
        parent: index > 0 ? chains[index - 1] : nil)
    }
  }

  /// Checks that manifest and config agree and name known media types.
  public static func validate(manifest: Manifest, config: ImageConfig, name: String) throws {
    if let type = manifest.mediaType, !MediaType.manifests.contains(type) {
      throw BerthError(.unsupported, "\(name): unknown manifest media type \(type)")
    }
    guard MediaType.configs.contains(manifest.config.mediaType) else {
      throw BerthError(
        .unsupported, "\(name): unknown config media type \(manifest.config.mediaType)",
        hint: "this is not a container image (an artifact?)")
    }
    for layer in manifest.layers where !MediaType.layers.contains(layer.mediaType) {
      throw BerthError(
        .unsupported,
        "\(name): layer \(layer.digest.short) has unknown media type \(layer.mediaType)")
    }
    guard manifest.layers.count == config.rootfs.diffIDs.count else {
      throw BerthError(
        .invalidArgument,
        "\(name): manifest has \(manifest.layers.count) layers but the config lists \(config.rootfs.diffIDs.count) diff ids"
      )
    }
  }

  /// Records an image whose manifest, config and layer blobs are stored.
  /// Its layers are unpacked now, or with `unpack: false` (a build's own
  /// layers, which nothing may ever run) when a snapshot first needs them.
  @discardableResult
  public func commitImage(
    manifestBytes: [UInt8], mediaType: String, extraDigests: [Digest] = [], names: [String],
    intermediate: Bool = false, unpack: Bool = true
  ) throws -> ImageRecord {
    let manifestDigest = try writeBlob(manifestBytes)
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
    let config = try readJSON(ImageConfig.self, manifest.config.digest)
    try ContentStore.validate(manifest: manifest, config: config, name: names.first ?? "image")
    if unpack {
      try unpackLayers(manifest: manifest, config: config)
    } else {
      for layer in manifest.layers where !hasBlob(layer.digest) {
        throw BerthError(
          .notFound, "layer \(layer.digest.short) of image \(manifestDigest.short) is not stored")
      }
    }
    var record = ImageRecord(
      id: manifest.config.digest, manifest: manifestDigest, manifestMediaType: mediaType,
      digests: [manifestDigest] + extraDigests, names: names, created: config.created,
      added: ContentStore.now(),
      size: manifest.config.size + manifest.layers.reduce(0) { $0 + $1.size })
    record.intermediate = intermediate ? true : nil
    try addImage(record)
    return try images().first { $0.id == record.id } ?? record
  }

  // MARK: Pull

  /// Where a reference may be pulled from: itself, or for a short name
  /// (`busybox`, no registry given) each of registries.conf's
  /// `unqualified-search-registries` in order, when configured.
  public static func pullCandidates(_ reference: Reference, conf: RegistriesConf) -> [Reference] {
    guard reference.isShortName, !conf.unqualifiedSearch.isEmpty else { return [reference] }
    let bare =
      reference.path.hasPrefix("library/") ? String(reference.path.dropFirst(8)) : reference.path
    return conf.unqualifiedSearch.map { registry in
      let path =
        registry == Reference.defaultDomain && !bare.contains("/") ? "library/" + bare : bare
      return Reference(domain: registry, path: path, tag: reference.tag, digest: reference.digest)
    }
  }

  /// Pulls the first of `pullCandidates` that the registries have.
  public func pullSearching(
    _ reference: Reference, platform: Platform = .host, options: RegistryOptions,
    progress: ProgressSink? = nil, bytes: ByteProgress? = nil
  ) async throws -> ImageRecord {
    let candidates = Self.pullCandidates(reference, conf: options.registriesConf)
    var failures: [String] = []
    for candidate in candidates {
      do {
        return try await pull(
          candidate, platform: platform, options: options, progress: progress, bytes: bytes)
      } catch let error as BerthError where candidates.count > 1 && error.code == .notFound {
        failures.append("\(candidate.domain): \(error.message)")
      }
    }
    throw BerthError(
      .notFound,
      "short name \(reference.path) was not found in any search registry: "
        + failures.joined(separator: "; "),
      hint: "give a fully qualified name such as docker.io/library/busybox")
  }

  /// Pulls `reference` (index → platform) into the store and returns its record.
  public func pull(
    _ reference: Reference, platform: Platform = .host, options: RegistryOptions,
    progress: ProgressSink? = nil, bytes: ByteProgress? = nil
  ) async throws -> ImageRecord {
    let lock = try lockContent()
    defer { withExtendedLifetime(lock) {} }
    let client = try RegistryClient(domain: reference.domain, options: options)
    do {
      let record = try await pull(
        reference, client: client, platform: platform, progress: progress, bytes: bytes)
      await client.shutdown()
      return record
    } catch {
      await client.shutdown()
      throw error
    }
  }

  private func pull(
    _ reference: Reference, client: RegistryClient, platform: Platform, progress: ProgressSink?,
    bytes byteProgress: ByteProgress?
  ) async throws -> ImageRecord {
    let path = reference.path
    progress?("Trying to pull \(reference)...")
    var (bytes, mediaType, digest) = try await client.manifest(
      repository: path, reference: reference.manifestReference)
    var extraDigests: [Digest] = []
    if MediaType.indexes.contains(mediaType) {
      let index = try JSONDecoder().decode(Index.self, from: Data(bytes))
      guard let chosen = index.manifest(for: platform) else {
        let available = index.manifests.compactMap { $0.platform?.description }
        throw BerthError(
          .notFound, "\(reference) has no image for \(platform)",
          hint: "available: \(available.joined(separator: ", ")); choose one with --platform")
      }
      try writeBlob(bytes, expected: digest)
      extraDigests.append(digest)
      (bytes, mediaType, digest) = try await client.manifest(
        repository: path, reference: chosen.digest.description)
      guard digest == chosen.digest else {
        throw BerthError(
          .invalidArgument, "manifest digest mismatch for \(reference): expected \(chosen.digest)")
      }
    }
    guard MediaType.manifests.contains(mediaType) else {
      throw BerthError(
        .unsupported, "\(reference): unsupported manifest media type \"\(mediaType)\"",
        hint: "only OCI and Docker schema2 images can be pulled")
    }
    let manifest: Manifest
    do {
      manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
    } catch {
      throw BerthError(.invalidArgument, "\(reference): malformed manifest: \(error)")
    }
    guard MediaType.configs.contains(manifest.config.mediaType) else {
      throw BerthError(
        .unsupported, "\(reference): unknown config media type \(manifest.config.mediaType)",
        hint: "this is not a container image (an artifact?)")
    }
    try await client.fetchBlob(repository: path, descriptor: manifest.config, into: self)
    let config = try readJSON(ImageConfig.self, manifest.config.digest)
    try ContentStore.validate(manifest: manifest, config: config, name: reference.description)
    let chains = ContentStore.chainIDs(config.rootfs.diffIDs)

    // Download in parallel (bounded) and unpack each layer as soon as it is
    // complete: layers unpack into separate directories, so order is free.
    let limit = 3
    try await withThrowingTaskGroup(of: Void.self) { group in
      var running = 0
      for (index, layer) in manifest.layers.enumerated() {
        if running == limit {
          try await group.next()
          running -= 1
        }
        running += 1
        let diffID = config.rootfs.diffIDs[index]
        let chain = chains[index]
        let parent = index > 0 ? chains[index - 1] : nil
        group.addTask {
          if self.hasLayer(chain) && self.hasBlob(layer.digest) {
            progress?("Copying blob \(layer.digest.short) skipped: already exists")
            return
          }
          progress?("Copying blob \(layer.digest.short)")
          let report: (@Sendable (Int64) -> Void)? = byteProgress.map { callback in
            { @Sendable done in callback(layer.digest, done, layer.size) }
          }
          try await client.fetchBlob(
            repository: path, descriptor: layer, into: self, progress: report)
          try self.unpackLayer(blob: layer.digest, diffID: diffID, chainID: chain, parent: parent)
        }
      }
      try await group.waitForAll()
    }
    progress?("Copying config \(manifest.config.digest.short) done")
    progress?("Writing manifest to image destination")
    // Pulled by digest alone, an image gets no name (as podman).
    let names = reference.tag != nil ? [reference.description] : []
    return try commitImage(
      manifestBytes: bytes, mediaType: mediaType, extraDigests: extraDigests, names: names)
  }

  // MARK: Push

  /// Pushes a stored image to `destination`: blobs first (skipping those the
  /// registry has), manifest last. Returns the manifest digest.
  @discardableResult
  public func push(
    _ image: ImageRecord, to destination: Reference, options: RegistryOptions,
    progress: ProgressSink? = nil
  ) async throws -> Digest {
    let client = try RegistryClient(domain: destination.domain, options: options)
    do {
      let manifestBytes = try readBlob(image.manifest)
      let manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
      let path = destination.path
      for blob in manifest.layers + [manifest.config] {
        if try await client.hasBlob(repository: path, digest: blob.digest) {
          progress?("Copying blob \(blob.digest.short) skipped: already exists")
          continue
        }
        progress?("Copying blob \(blob.digest.short)")
        // Repositories of the same registry this image came from may
        // already hold the blob: the registry can mount it without a copy.
        let sources = image.names.compactMap { try? Reference(parsing: $0) }
          .filter { $0.domain == destination.domain && $0.path != path }.map(\.path)
        try await client.uploadBlob(
          repository: path, digest: blob.digest, file: blobPath(blob.digest),
          size: try blobSize(blob.digest), mountFrom: sources, chunkSize: options.uploadChunkSize)
      }
      progress?("Writing manifest to image destination")
      try await client.putManifest(
        repository: path, reference: destination.tag ?? image.manifest.description,
        mediaType: manifest.mediaType ?? image.manifestMediaType, bytes: manifestBytes)
      await client.shutdown()
      return image.manifest
    } catch {
      await client.shutdown()
      throw error
    }
  }

  // MARK: Names and removal

  /// Adds `name` to an image (moving it from any other image).
  public func tag(_ image: ImageRecord, as name: Reference) throws {
    guard name.digest == nil else {
      throw BerthError(.invalidArgument, "cannot tag with a digest reference \(name)")
    }
    try updateImages { images in
      let text = name.withDefaultTag.description
      for index in images.indices { images[index].names.removeAll { $0 == text } }
      guard let index = images.firstIndex(where: { $0.id == image.id }) else {
        throw BerthError(.notFound, "image \(image.id.short) disappeared")
      }
      images[index].names.append(text)
    }
  }

  /// Snapshot directories name the image they were made from.
  public func imagesInUse() -> Set<Digest> {
    var used: Set<Digest> = []
    for id in (try? Sys.listDirectory(root + "/snapshots")) ?? [] {
      if let bytes = try? Sys.readFile("\(root)/snapshots/\(id)/image"),
        let digest = try? Digest(parsing: String(decoding: bytes, as: UTF8.self))
      {
        used.insert(digest)
      }
    }
    return used
  }

  /// `rmi`: removes a name; the image goes when its last name goes or when
  /// it was named by id. Returns lines to print (Untagged/Deleted).
  public func remove(_ text: String, force: Bool) throws -> [String] {
    let image = try resolveImage(text)
    var output: [String] = []
    let byID = text.hasPrefix("sha256:") || image.id.encoded.hasPrefix(text)
    let inUse = imagesInUse().contains(image.id)
    try updateImages { images in
      guard let index = images.firstIndex(where: { $0.id == image.id }) else { return }
      var remaining = images[index].names
      var untagged: [String] = []
      if !(byID || force) {
        let names = ContentStore.candidates(try Reference(parsing: text))
        untagged = remaining.filter { names.contains($0) }
        remaining.removeAll { names.contains($0) }
      } else {
        // As podman: an id stands for all the image's names only with --force.
        if byID && !force && remaining.count > 1 {
          throw BerthError(
            .invalidState,
            "image \(image.id.short) has several names (\(remaining.joined(separator: ", ")))",
            hint: "remove the names one by one, or use --force to delete the image")
        }
        untagged = remaining
        remaining = []
      }
      // Only deleting the image (not dropping one of its names) is refused
      // while a container uses it.
      if remaining.isEmpty && inUse && !force {
        throw BerthError(
          .invalidState, "image \(text) is used by a container",
          hint: "remove the container first or use --force")
      }
      output += untagged.map { "Untagged: \($0)" }
      if remaining.isEmpty && inUse {
        // Forced while a container still uses it (the API's `rmi -f`: the
        // CLI removes such containers first): untagged and kept, nameless,
        // as docker keeps it, or that container could not start again.
        // Prune takes it once no container does.
        images[index].names = []
      } else if remaining.isEmpty {
        images.remove(at: index)
        output.append("Deleted: \(image.id.encoded)")
      } else {
        images[index].names = remaining
      }
    }
    try collectGarbage()
    return output
  }

  /// `image prune`: removes images without names (all unused ones with
  /// `all`), then unreferenced content. Returns the removed image ids.
  public func prune(all: Bool) throws -> [Digest] {
    let used = imagesInUse()
    let removed = try updateImages { images in
      let gone = images.filter { ($0.names.isEmpty || all) && !used.contains($0.id) }
      images.removeAll { image in gone.contains { $0.id == image.id } }
      return gone.map(\.id)
    }
    try collectGarbage()
    return removed
  }

  /// Removes blobs and layers no image references, partial ingests and
  /// temp directories. Holds the content lock exclusively so that no pull
  /// is between writing a blob and recording its image.
  public func collectGarbage() throws {
    let lock = try lockContent(exclusive: true)
    defer { withExtendedLifetime(lock) {} }
    var blobs: Set<Digest> = []
    var layers: Set<String> = []
    for image in try images() {
      blobs.insert(image.id)
      blobs.formUnion(image.digests)
      blobs.insert(image.manifest)
      if let manifest = try? self.manifest(of: image) {
        blobs.formUnion(manifest.layers.map(\.digest))
      }
      if let config = try? config(of: image) {
        layers.formUnion(ContentStore.chainIDs(config.rootfs.diffIDs).map(\.encoded))
      }
    }
    for algorithm in ["sha256", "sha512"] {
      for name in try Sys.listDirectory("\(root)/blobs/\(algorithm)") {
        guard let digest = try? Digest(parsing: "\(algorithm):\(name)") else { continue }
        if !blobs.contains(digest) { unlink("\(root)/blobs/\(algorithm)/\(name)") }
      }
    }
    for name in try Sys.listDirectory(root + "/layers") where !layers.contains(name) {
      // Rename first so a crash mid-removal leaves no half layer under its name.
      let doomed = "\(root)/layers/.tmp-rm-\(Sys.randomHex(6))"
      if name.hasPrefix(".tmp-") || rename("\(root)/layers/\(name)", doomed) != 0 {
        try removeOwnedTree("\(root)/layers/\(name)")
      } else {
        try removeOwnedTree(doomed)
      }
    }
    try collectMappedLayers(live: layers)
    for name in try Sys.listDirectory(root + "/ingest") { unlink("\(root)/ingest/\(name)") }
  }
}
