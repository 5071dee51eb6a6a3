// RUN: the command in a container of the current state (an engine
// container with its own monitor, as `berth run` makes), its output
// streamed, then its overlay upper directory committed as a layer.
// `--mount` gives it cache directories kept between builds, read-only
// binds of the context or another stage, tmpfs and secrets; none of them
// lands in the layer.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

/// `--mount=type=...,target=...`'s fields.
enum MountSpec {
  static func fields(_ text: String) -> [String: String] {
    var result: [String: String] = [:]
    for part in text.split(separator: ",") {
      let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
      result[pair[0].lowercased()] = pair.count > 1 ? pair[1] : "true"
    }
    return result
  }
}

extension StageBuilder {
  mutating func run(_ form: CommandForm, _ instruction: Instruction) async throws {
    var argv = commandLine(form)
    var scripts: [(String, String)] = []
    if case .shell(let text) = form, !instruction.heredocs.isEmpty {
      let bodies = try instruction.heredocs.map { doc throws(BerthError) in
        doc.expands ? try expandHeredoc(doc.content) : doc.content
      }
      let trimmed = text.trimmingCharacters(in: .whitespaces)
      if instruction.heredocs.count == 1, trimmed.hasPrefix("<<"),
        !trimmed.dropFirst(2).contains(" ")
      {
        // `RUN <<EOF`: the body is the script, run by the shell (or by its #! line).
        let body = bodies[0]
        if body.hasPrefix("#!") {
          let path = "/dev/pipes/" + instruction.heredocs[0].name
          scripts.append((path, body))
          argv = [path]
        } else {
          argv = state.shell + [body]
        }
      } else {
        // `RUN cat <<EOF > f`: the shell reads the here-documents itself.
        var script = text
        for (doc, body) in zip(instruction.heredocs, bodies) {
          script += "\n" + body + (body.hasSuffix("\n") ? "" : "\n") + doc.name
        }
        argv = state.shell + [script]
      }
    }
    var config = ContainerConfig()
    config.command = argv
    config.entrypoint = []
    var env = state.env
    for (name, value) in state.args.sorted(by: { $0.key < $1.key })
    where !env.contains(where: { $0.hasPrefix(name + "=") }) {
      env.append(name + "=" + value)
    }
    for name in Platforms.proxyArgs.sorted() {
      if let value = options.buildArgs[name], !env.contains(where: { $0.hasPrefix(name + "=") }) {
        env.append(name + "=" + value)
      }
    }
    config.env = env
    config.workingDir = state.workingDir
    config.user = state.config.user.flatMap { $0.isEmpty ? nil : $0 }
    config.logDriver = "k8s-file"
    config.labels = ["io.berth.build": "true"]
    var network = NetworkFlags()
    let requested = instruction.flagValues("network").last ?? options.network
    switch requested {
    case nil, "default": break
    case "none", "host": network.networks = [requested!]
    default:
      throw located(
        instruction, "invalid RUN --network=\(requested!)", hint: "use none, host or default")
    }
    try network.apply(to: &config, rootless: engine.rootless)
    var mountKeys: [String] = []
    var stubs: [String] = []
    var cleanups: [() -> Void] = []
    defer { for cleanup in cleanups { cleanup() } }
    for text in instruction.flagValues("mount") {
      let (mount, key, cleanup) = try await runMount(text, instruction)
      config.mounts.append(mount)
      mountKeys.append(key)
      stubs.append(String(mount.destination.dropFirst()))
      cleanups += cleanup
    }
    for (path, body) in scripts {
      let host = engine.store.root + "/ingest/script-" + ContainerNames.randomID().prefix(16)
      try writeFileAtomically(host, Array(body.utf8), durable: false)
      chmod(host, 0o755)
      cleanups.append { try? removeTree(host) }
      var mount = MountRequest(kind: .bind, source: host, destination: path)
      mount.readOnly = true
      config.mounts.append(mount)
      stubs.append(String(path.dropFirst()))
    }
    let description = canonical([
      "run", canonical(argv), canonical(env), config.workingDir ?? "", config.user ?? "",
      requested ?? "", canonical(mountKeys),
    ])
    let key = BuildCache.key(parent: state.key, step: description)
    let createdBy = "/bin/sh -c " + instruction.text.dropFirst(4)
    if try useCache(key) { return }
    guard let base = state.layers else {
      throw located(
        instruction, "RUN needs a filesystem: this stage is FROM scratch and has no layer yet",
        hint: "COPY a shell and its libraries in first, or start FROM an image")
    }
    let container = try engine.createContainer(
      name: "berth-build-" + ContainerNames.randomID().prefix(12), image: base,
      imageName: "berth-build", config: config)
    builder.active.add(container.id)
    defer {
      _ = try? engine.removeContainer(container.id, force: true, volumes: true)
      builder.active.remove(container.id)
    }
    let code = try runAttached(container)
    guard code == 0 else {
      throw BuildFailure(
        message:
          "\(fileName):\(instruction.line): \(instruction.text): the command exited with status \(code)",
        exitCode: code, outputTail: (try? engine.logTail(container.id, lines: 10)) ?? [])
    }
    let snapshot = try engine.store.snapshot(id: container.id)
    // The engine's mount points (/etc/hosts and the rest) are the container's,
    // not the step's; a COPY of the same paths keeps them, as docker does.
    try commitLayer(
      from: snapshot.upper, overlay: true, exclude: engineMountPoints.union(stubs), key: key,
      createdBy: createdBy)
  }

  /// Starts the container with its output on ours and returns its exit status.
  func runAttached(_ container: Container) throws -> Int32 {
    let outcome = try engine.startContainer(container.id, attach: true)
    guard let socket = outcome.attach else {
      throw BerthError(.internalError, "the RUN container gave no attach connection")
    }
    defer { close(socket) }
    var attach = AttachOptions()
    attach.stdout = !options.quiet
    attach.stderr = !options.quiet
    if let runOutput = builder.runOutput { attach.output = { _, bytes in runOutput(bytes) } }
    // No signal proxy: it is one process-wide slot, and stages run RUNs
    // side by side. ctrl-c reaches the RUN through BuildInterrupt instead.
    let slot = BuildInterrupt.track(outcome.container.pid)
    defer { BuildInterrupt.untrack(slot) }
    switch AttachSession.run(socket: socket, options: attach) {
    case .exited(let code): return code
    case .detached, .lost:
      return (try? engine.refresh(container.id))?.exitCode ?? 125
    }
  }

  /// Expands a here-document body as the shell would ($VAR, no quote removal).
  func expandHeredoc(_ body: String) throws(BerthError) -> String {
    // Quotes inside a body are text: escape them so ShellWords keeps them.
    var escaped = ""
    for character in body {
      if character == "\"" || character == "'" { escaped.append(builder.file.escape) }
      escaped.append(character)
    }
    return try expand(escaped)
  }

  /// One `--mount`: what the container gets, its part of the cache key, and
  /// what to undo once the step is done.
  func runMount(_ text: String, _ instruction: Instruction) async throws -> (
    MountRequest, String, [() -> Void]
  ) {
    var fields = MountSpec.fields(text)
    for (name, value) in fields { fields[name] = try expand(value) }
    let kind = fields["type"] ?? "bind"
    guard
      let rawTarget = fields["target"] ?? fields["dst"] ?? fields["destination"]
        ?? (kind == "secret" ? "/run/secrets/" + (fields["id"] ?? "") : nil)
    else {
      throw located(instruction, "--mount=\(text) needs target=", hint: "e.g. target=/root/.cache")
    }
    let target = RootFS.clean(
      rawTarget.hasPrefix("/") ? rawTarget : state.workingDir + "/" + rawTarget)
    switch kind {
    case "cache":
      let id = fields["id"] ?? target
      let directory =
        engine.store.root + "/build-cache/mounts/" + BuildCache.key(parent: "cache", step: id)
      if !fileExists(directory) {
        try mkdirAll(directory, mode: 0o755)
        let uid = fields["uid"].flatMap { uid_t($0) } ?? 0
        let gid = fields["gid"].flatMap { gid_t($0) } ?? 0
        let mode = fields["mode"].flatMap { mode_t($0, radix: 8) } ?? 0o755
        chown(directory, uid, gid)
        chmod(directory, mode)
      }
      return (
        MountRequest(kind: .bind, source: directory, destination: target), "cache:" + target, []
      )
    case "tmpfs":
      var mount = MountRequest(kind: .tmpfs, source: "", destination: target)
      if let size = fields["size"] { mount.options = ["size=" + size] }
      return (mount, "tmpfs:" + target, [])
    case "secret":
      let id = fields["id"] ?? ""
      guard let source = options.secrets[id] else {
        if fields["required"] == "true" {
          throw located(
            instruction, "secret \(id) is required but was not given",
            hint: "pass --secret id=\(id),src=FILE")
        }
        var mount = MountRequest(kind: .tmpfs, source: "", destination: target)
        mount.readOnly = true
        return (mount, "secret:" + target, [])
      }
      var mount = MountRequest(kind: .bind, source: source, destination: target)
      mount.readOnly = true
      // Not in the key: a secret's value must not decide what is reused.
      return (mount, "secret:" + target, [])
    case "bind":
      let source = fields["source"] ?? fields["src"] ?? "/"
      guard fields["rw"] == nil && fields["readwrite"] == nil else {
        throw BerthError(
          .unsupported,
          "\(fileName):\(instruction.line): RUN --mount=type=bind,rw is not supported",
          hint: "bind mounts are read-only here; COPY what the step must change")
      }
      if let from = fields["from"] {
        let (path, key, cleanup) = try await stagePath(from: from, source, instruction)
        var mount = MountRequest(kind: .bind, source: path, destination: target)
        mount.readOnly = true
        return (mount, "bind:\(target):\(key)", cleanup)
      }
      let context = try ContextRoot(builder.options.context)
      let resolved = try context.resolve(source, instruction: instruction, fileName: fileName)
      var mount = MountRequest(kind: .bind, source: resolved.hostPath, destination: target)
      mount.readOnly = true
      let digest = try ContentDigest.of(
        root: context, paths: [resolved.relative], ignore: builder.ignore)
      return (mount, "bind:\(target):\(digest)", [])
    default:
      throw located(
        instruction, "unknown --mount type \(kind)", hint: "use cache, bind, tmpfs or secret")
    }
  }

  /// A host path showing `path` of stage or image `from` (its snapshot
  /// mounted read-only), and how to unmount it. The path is resolved in
  /// the stage's root by fd and given as the real path it reached, so the
  /// bind mount made from it follows no symlink of the image.
  func stagePath(from: String, _ path: String, _ instruction: Instruction) async throws -> (
    String, String, [() -> Void]
  ) {
    let source = try await sourceState(from)
    guard let layers = source.layers else {
      let empty = try emptyDirectory()
      return (empty, "empty", [{ try? removeTree(empty) }])
    }
    let id = "build-" + String(ContainerNames.randomID().prefix(24))
    let snapshot = try engine.store.createSnapshot(id: id, image: layers)
    builder.active.addSnapshot(id)
    let store = engine.store
    let active = builder.active
    let unmount = {
      try? store.unmountSnapshot(id: id)
      try? store.removeSnapshot(id: id)
      active.removeSnapshot(id)
    }
    do {
      let tree = try SourceTree(
        path: try engine.store.mountSnapshot(snapshot, readOnly: true), isContext: false)
      let fd = tree.open(String(RootFS.clean(path).dropFirst()), flags: O_PATH)
      guard fd >= 0 else {
        throw BerthError(
          .notFound, "\(fileName):\(instruction.line): \(path) is not in \(from)",
          hint: "check the path in the --mount's source=")
      }
      defer { close(fd) }
      let real = tree.realRelative(fd) ?? ""
      return (tree.path + (real.isEmpty ? "" : "/" + real), source.key + ":" + path, [unmount])
    } catch {
      unmount()
      throw error
    }
  }

  func emptyDirectory() throws -> String {
    let path = engine.store.root + "/ingest/empty-" + ContainerNames.randomID().prefix(16)
    try mkdirAll(path, mode: 0o755)
    return path
  }

  /// The state of stage or image `name` (COPY --from, RUN --mount from=).
  func sourceState(_ name: String) async throws -> StageState {
    if let other = builder.stage(named: name) {
      return try await builder.stageTask(other.index, total: total).value
    }
    let image = try await builder.resolveBase(name)
    return StageState(
      layers: image, image: try engine.store.config(of: image),
      key: "image " + image.id.description)
  }

  /// Reuses the cached result of `key` unless --no-cache; true on a hit.
  mutating func useCache(_ key: String) throws -> Bool {
    guard !options.noCache, let (image, history) = builder.cache.lookup(key) else { return false }
    let layerConfig = try engine.store.config(of: image)
    guard let diffID = layerConfig.rootfs.diffIDs.last,
      layerConfig.rootfs.diffIDs.count == state.image.rootfs.diffIDs.count + 1
    else { return false }
    state.layers = image
    state.image.rootfs.diffIDs.append(diffID)
    state.image.history = (state.image.history ?? []) + [history]
    state.key = key
    state.newLayers += 1
    progress("--> Using cache \(image.id.encoded)")
    return true
  }

  /// Writes `directory` as the next layer, records an intermediate image
  /// and a cache entry, and moves the state on.
  mutating func commitLayer(
    from directory: String, overlay: Bool, exclude: Set<String>, key: String, createdBy: String
  ) throws {
    let adoptable = overlay && options.timestamp == nil && !engine.rootless
    let rootless = engine.rootless
    let timestamp = options.timestamp
    try commitLayer(key: key, createdBy: createdBy) { path in
      let size = try LayerWriter.write(
        directory: directory, to: path, overlayUpper: overlay, rootless: rootless,
        exclude: exclude, mtime: timestamp)
      return adoptable ? (directory, exclude, size) : nil
    }
  }

  /// Records the layer tar `write` makes at the path it is given (and the
  /// directory that holds its files unpacked, if any) as the next layer.
  mutating func commitLayer(
    key: String, createdBy: String,
    write: (String) throws -> (directory: String, excluded: Set<String>, size: Int64)?
  ) throws {
    let history = ImageConfig.History(created: createdTime(), createdBy: createdBy)
    let image = try engine.store.withStagingPath("layer") { path in
      let adopting = try write(path)
      return try addIntermediate(layerTar: path, history: history, adopting: adopting)
    }
    if options.layers { builder.cache.record(key, image: image, history: history) }
    state.layers = image
    state.key = key
    state.newLayers += 1
    state.image.history = (state.image.history ?? []) + [history]
    state.image.rootfs.diffIDs = try engine.store.config(of: image).rootfs.diffIDs
    progress("--> \(image.id.encoded.prefix(12))")
  }

  /// An image of the state's layers plus `layerTar`, with no runnable
  /// config (RUN containers get theirs from the step), and no name.
  ///
  /// With `adopting`, the overlay upper directory the tar was written from
  /// becomes the unpacked layer (its excluded mount points removed first),
  /// instead of the tar being unpacked again: half the files to create.
  /// Not with --timestamp (the tar's times differ from the files') nor
  /// rootless (the store unpacks with its own id mapping).
  func addIntermediate(
    layerTar: String, history: ImageConfig.History,
    adopting: (directory: String, excluded: Set<String>, size: Int64)? = nil
  ) throws -> ImageRecord {
    let bytes = try readFile(layerTar, limit: 1 << 40)
    let digest = try engine.store.writeBlob(bytes)
    var layers = try state.layers.map { try engine.store.manifest(of: $0).layers } ?? []
    layers.append(
      Descriptor(mediaType: MediaType.ociLayerTar, digest: digest, size: Int64(bytes.count)))
    var diffIDs = state.image.rootfs.diffIDs
    diffIDs.append(digest)
    if let adopting {
      for path in adopting.excluded {
        let full = adopting.directory + "/" + path
        if unlink(full) != 0 { rmdir(full) }
      }
      let chains = ContentStore.chainIDs(diffIDs)
      try engine.store.adoptLayer(
        directory: adopting.directory, diffID: digest, chainID: chains[chains.count - 1],
        parent: chains.count > 1 ? chains[chains.count - 2] : nil, size: adopting.size)
    }
    let config = ImageConfig(
      platform: .host, config: ImageConfig.Config(), rootfs: ImageConfig.RootFS(diffIDs: diffIDs),
      history: (state.image.history ?? []) + [history], created: history.created)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let configBytes = Array(try encoder.encode(config))
    let configDigest = try engine.store.writeBlob(configBytes)
    let manifest = Manifest(
      config: Descriptor(
        mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)),
      layers: layers)
    // A layer not adopted is unpacked when a later step or a container
    // first needs it.
    return try engine.store.commitImage(
      manifestBytes: Array(try encoder.encode(manifest)), mediaType: MediaType.ociManifest,
      names: [], intermediate: true, unpack: false)
  }
}

/// A RUN that failed: its status, and the end of its output for the error.
public struct BuildFailure: Error, CustomStringConvertible {
  public var message: String
  public var exitCode: Int32
  public var outputTail: [String]
  public var description: String { message }
}
