// `berth build`: a Containerfile and a context directory become an image.
// Stages the target needs are built, each as soon as the stages it uses
// are done (independent ones side by side, as BuildKit does); RUN steps
// are engine containers (a monitor each, as `berth run`), COPY and ADD
// write into a mounted snapshot, and every layer step is cached.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc
import Synchronization

/// Resolves a base image (FROM, COPY --from=IMAGE) under the pull policy.
public typealias BaseImageResolver = @Sendable (String) async throws -> ImageRecord

public final class Builder: @unchecked Sendable {
  let options: BuildOptions
  let file: Containerfile
  let root: String?
  let runRoot: String?
  let engine: Engine
  let resolveBase: BaseImageResolver
  let print: @Sendable (String) -> Void
  /// Where RUN steps' output goes; nil: this process's stdout and stderr.
  let runOutput: (@Sendable (_ bytes: [UInt8]) -> Void)?
  let ignore: IgnorePatterns
  let cache: BuildCache
  /// The context's file digests, kept between builds.
  let digests: ContextDigests
  /// Values of the ARGs before the first FROM (build args applied).
  let globalArgs: [String: String]
  /// Build args some ARG declared (the rest are reported unused).
  let consumedArgs = Mutex<Set<String>>([])
  /// Stages being built or done, by index.
  let stageTasks = Mutex<[Int: Task<StageState, Error>]>([:])
  /// Containers and snapshots of steps in progress, removed on ctrl-c.
  let active = ActiveSteps()

  public init(
    engine: Engine, root: String?, runRoot: String?, options: BuildOptions,
    resolveBase: @escaping BaseImageResolver, print: @escaping @Sendable (String) -> Void,
    runOutput: (@Sendable (_ bytes: [UInt8]) -> Void)? = nil
  ) throws(BerthError) {
    // COPY writes into an overlay mounted from this process, which a user
    // without privileges can only do inside a user namespace the build
    // does not make yet.
    guard !engine.rootless else {
      throw BerthError(
        .unsupported, "berth build needs root for now",
        hint: "run it as root; rootless builds are not implemented yet")
    }
    self.engine = engine
    self.root = root
    self.runRoot = runRoot
    self.options = options
    self.resolveBase = resolveBase
    self.print = print
    self.runOutput = runOutput
    file = try Containerfile.parse(options.containerfile, fileName: options.containerfileName)
    if let syntax = file.syntax {
      print("[Warning] # syntax=\(syntax) is ignored: berth has one Containerfile frontend")
    }
    ignore = try Self.ignorePatterns(options)
    cache = BuildCache(store: engine.store)
    digests = ContextDigests(storeRoot: engine.store.root, context: options.context)
    var args: [String: String] = Platforms.predefinedArgs
    for definition in file.globalArgs {
      if let value = options.buildArgs[definition.name] {
        args[definition.name] = value
      } else if let raw = definition.defaultValue {
        args[definition.name] = try ShellWords.expand(raw, escape: file.escape) { args[$0] }
      }
    }
    globalArgs = args
    consumedArgs.withLock { $0.formUnion(file.globalArgs.map(\.name)) }
  }

  /// The ignore file: `NAME.dockerignore` beside the Containerfile, else the
  /// context's `.containerignore`, else its `.dockerignore`.
  static func ignorePatterns(_ options: BuildOptions) throws(BerthError) -> IgnorePatterns {
    var candidates: [String] = []
    if let path = options.containerfilePath { candidates.append(path + ".dockerignore") }
    candidates += [options.context + "/.containerignore", options.context + "/.dockerignore"]
    for path in candidates where fileExists(path) {
      let bytes = try readFile(path, limit: 16 << 20)
      return IgnorePatterns(text: String(decoding: bytes, as: UTF8.self))
    }
    return IgnorePatterns(text: "")
  }

  /// Builds the target stage (the last by default) and commits the image.
  public func build() async throws -> ImageRecord {
    let target = try targetStage()
    let needed = try stagesNeeded(by: target)
    defer { digests.save() }
    let total = needed.count
    // Independent stages start together; each awaits what it uses.
    for index in needed {
      _ = stageTask(index, total: total)
    }
    let state: StageState
    do {
      state = try await stageTask(target.index, total: total).value
    } catch {
      for task in stageTasks.withLock({ Array($0.values) }) { task.cancel() }
      for task in stageTasks.withLock({ Array($0.values) }) { _ = try? await task.value }
      throw error
    }
    let unused = Set(options.buildArgs.keys).subtracting(consumedArgs.withLock { $0 })
      .subtracting(Platforms.proxyArgs)
    if !unused.isEmpty {
      print("[Warning] one or more build args were not consumed: \(unused.sorted())")
    }
    return try commitImage(state, stage: target, total: total)
  }

  func targetStage() throws(BerthError) -> Stage {
    guard let last = file.stages.last else {
      throw BerthError(
        .invalidArgument, "\(options.containerfileName) has no FROM",
        hint: "a Containerfile starts with FROM IMAGE (or FROM scratch)")
    }
    guard let name = options.target else { return last }
    guard let stage = file.stages.first(where: { $0.name == name.lowercased() }) else {
      throw BerthError(
        .notFound, "target stage \"\(name)\" is not in \(options.containerfileName)",
        hint: "stages: " + file.stages.compactMap(\.name).joined(separator: ", "))
    }
    return stage
  }

  /// Stage `name` (a name, or an index as COPY --from=0 gives), if it is one.
  func stage(named name: String, before index: Int? = nil) -> Stage? {
    let lowered = name.lowercased()
    if let stage = file.stages.first(where: { $0.name == lowered }) { return stage }
    if let number = Int(name), number >= 0, number < file.stages.count {
      return file.stages[number]
    }
    return nil
  }

  /// The stages `stage` uses directly: its base, COPY --from and RUN --mount from=.
  func dependencies(of stage: Stage) throws(BerthError) -> [Int] {
    var result: [Int] = []
    let base = try expandGlobal(stage.base)
    if let other = self.stage(named: base) {
      if other.index == stage.index {
        throw BerthError(
          .invalidArgument,
          "\(options.containerfileName):\(stage.line): stage \(stage.name ?? "\(stage.index)") is its own base"
        )
      }
      result.append(other.index)
    }
    for instruction in stage.instructions {
      var names = instruction.flagValues("from")
      for mount in instruction.flagValues("mount") {
        if let from = MountSpec.fields(mount)["from"] { names.append(from) }
      }
      for name in names {
        if let other = self.stage(named: name) { result.append(other.index) }
      }
    }
    return result
  }

  /// Every stage `target` needs, dependencies first; a cycle is an error.
  func stagesNeeded(by target: Stage) throws(BerthError) -> [Int] {
    var order: [Int] = []
    var visiting: [Int] = []
    func visit(_ index: Int) throws(BerthError) {
      if order.contains(index) { return }
      if visiting.contains(index) {
        let names = (visiting + [index]).map { file.stages[$0].name ?? "\($0)" }
        throw BerthError(
          .invalidArgument,
          "\(options.containerfileName): the stages depend on each other in a cycle: "
            + names.joined(separator: " → "))
      }
      visiting.append(index)
      for dependency in try dependencies(of: file.stages[index]) { try visit(dependency) }
      visiting.removeLast()
      order.append(index)
    }
    try visit(target.index)
    return order
  }

  /// The task building stage `index` (started on first ask).
  func stageTask(_ index: Int, total: Int) -> Task<StageState, Error> {
    stageTasks.withLock { tasks in
      if let task = tasks[index] { return task }
      let task = Task {
        var stage = StageBuilder(builder: self, stage: self.file.stages[index], total: total)
        return try await stage.run()
      }
      tasks[index] = task
      return task
    }
  }

  func expandGlobal(_ word: String) throws(BerthError) -> String {
    try ShellWords.expand(word, escape: file.escape) { self.globalArgs[$0] }
  }

  // MARK: The image

  func commitImage(_ state: StageState, stage: Stage, total: Int) throws -> ImageRecord {
    var names: [String] = []
    for tag in options.tags {
      names.append(try Reference(parsing: tag).withDefaultTag.description)
    }
    let count = file.stages.count
    let prefix = count > 1 ? "[\(stage.index + 1)/\(count)] " : ""
    if !options.quiet { print("\(prefix)COMMIT \(options.tags.first ?? "")") }
    // A build whose every step was cached gives the image it gave before.
    let key = BuildCache.key(
      parent: state.key,
      step: canonical([
        options.format.rawValue, "\(options.squash)", canonical(options.labels),
        options.timestamp.map(String.init) ?? "",
      ]))
    var record: ImageRecord
    if !options.noCache, let (cached, _) = cache.lookup(key) {
      record = try engine.store.commitImage(
        manifestBytes: try engine.store.readBlob(cached.manifest),
        mediaType: cached.manifestMediaType, names: names, unpack: false)
    } else {
      record = try makeImage(state, names: names)
      if options.layers { cache.record(key, image: record, history: ImageConfig.History()) }
    }
    if !options.quiet {
      print("--> \(record.id.encoded.prefix(12))")
      for name in names { print("Successfully tagged \(name)") }
    }
    return record
  }

  func makeImage(_ state: StageState, names: [String]) throws -> ImageRecord {
    var state = state
    if options.squash && state.newLayers > 1 { state = try squash(state) }
    let created =
      options.timestamp.map { rfc3339(seconds: Int64($0), nanoseconds: 0) } ?? rfc3339Now()
    var image = state.image
    image.created = created
    var config = state.config
    if !options.labels.isEmpty {
      config.labels = (config.labels ?? [:]).merging(options.labels) { $1 }
    }
    image.config = config
    if options.timestamp != nil {
      image.history = image.history?.map { entry in
        var copy = entry
        copy.created = created
        return copy
      }
    }
    let docker = options.format == .docker
    var layers = try state.layers.map { try engine.store.manifest(of: $0).layers } ?? []
    for index in layers.indices {
      let compressed = layers[index].mediaType.hasSuffix("gzip")
      layers[index].mediaType =
        switch (docker, compressed) {
        case (true, true): MediaType.dockerLayerGzip
        case (true, false): MediaType.dockerLayerTar
        case (false, true): MediaType.ociLayerGzip
        case (false, false): MediaType.ociLayerTar
        }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let configBytes = Array(try encoder.encode(image))
    let configDigest = try engine.store.writeBlob(configBytes)
    let manifest = Manifest(
      mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
      config: Descriptor(
        mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: configDigest,
        size: Int64(configBytes.count)),
      layers: layers)
    let manifestBytes = Array(try encoder.encode(manifest))
    return try engine.store.commitImage(
      manifestBytes: manifestBytes,
      mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest, names: names,
      unpack: false)
  }
}
