// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// POST /build: docker's classic builder API over BerthBuild. The body is
// the context as a tar (spooled to disk, unpacked by the layer unpacker,
// which keeps every entry inside the directory); the build's lines stream
// back as `{"stream": ...}` and the image id as `{"aux": {"ID": ...}}`.
import BerthBuild
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials

enum BuildEndpoint {
  static func build(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    guard request.query["remote"].map({ $0.isEmpty }) ?? true else {
      throw BerthError(
        .unsupported, "remote build contexts are not supported",
        hint: "send the context as the request's tar body")
    }
    guard let body = request.spooled, body.size > 0 else {
      throw BerthError(
        .invalidArgument, "the build context is missing", hint: "send it as a tar body")
    }
    let engine = try state.engine()
    let context = engine.store.root + "/ingest/context-" + ContainerNames.randomID().prefix(16)
    try mkdirAll(context, mode: 0o700)
    let options: BuildOptions
    do {
      try engine.unpackOnHost(archive: body.path, into: context)
      options = try buildOptions(request, context: context)
    } catch {
      try? removeTree(context)
      throw error
    }
    let quiet = request.flag("q")
    let pullPolicy = request.query["pull"].map { $0 == "1" || $0 == "true" } ?? false
    return .streaming(.ok, contentType: "application/json") { emit in
      defer { try? removeTree(context) }
      // Its own: the handler's engine went back to the pool with it.
      let engine = (try? state.engine()) ?? engine
      @Sendable func send(_ line: String) { emit(Router.json(["stream": line])) }
      let builder: Builder
      do {
        builder = try Builder(
          engine: engine, root: state.server.root, runRoot: state.server.runRoot,
          options: options,
          resolveBase: { name in
            try await baseImage(name, pull: pullPolicy, engine: engine, request: request)
          },
          print: { line in if !quiet { send(line + "\n") } },
          // RUN output reaches the client as docker's does, as stream text
          // (it went to the service's own stdout).
          runOutput: { bytes in if !quiet { send(String(decoding: bytes, as: UTF8.self)) } })
      } catch {
        emit(Router.json(ImageTransferEndpoints.Failure(describe(error))))
        return
      }
      // A client that goes away cancels its build, as docker's does: the
      // running steps' containers are removed, which fails the build.
      var abandoned = false
      let built = awaitTask(
        {
          do {
            return try await builder.build()
          } catch {
            builder.abandon()
            throw error
          }
        },
        whileWaiting: {
          if !abandoned && !emit.isOpen {
            abandoned = true
            builder.abandon()
          }
        })
      switch built {
      case .success(let image):
        struct Aux: Encodable {
          var aux: [String: String]
        }
        emit(Router.json(Aux(aux: ["ID": image.id.description])))
        // The builder has printed the tags; quiet clients print this line.
        send(
          quiet
            ? image.id.description + "\n" : "Successfully built \(image.id.encoded.prefix(12))\n")
      case .failure(let error as BuildFailure):
        var message = error.message
        if !error.outputTail.isEmpty {
          message += "\n" + error.outputTail.joined(separator: "\n")
        }
        // docker's JSONError: code is a number (the CLI decodes it as an int).
        struct RunFailure: Encodable {
          var error: String
          var errorDetail: Detail
          struct Detail: Encodable {
            var message: String
            var code: Int32
          }
        }
        emit(
          Router.json(
            RunFailure(
              error: message, errorDetail: .init(message: message, code: error.exitCode))))
      case .failure(let error):
        emit(Router.json(ImageTransferEndpoints.Failure(describe(error))))
      }
    }
  }

  /// POST /build/prune: the step cache goes (images stay).
  static func prune(_ state: ServiceState) throws -> APIResponse {
    let removed = try Builder.pruneCache(engine: try state.engine())
    struct Pruned: Encodable {
      var CachesDeleted: [String]
      var SpaceReclaimed: Int64 = 0
    }
    return .json(.ok, Router.json(Pruned(CachesDeleted: removed)))
  }

  static func buildOptions(_ request: APIRequest, context: String) throws -> BuildOptions {
    let dockerfile = request.query["dockerfile"].flatMap { $0.isEmpty ? nil : $0 } ?? "Dockerfile"
    let text = try BuildOptions.readContextFile(context, dockerfile)
    var options = BuildOptions(
      context: context, containerfile: text,
      containerfileName: String(dockerfile.split(separator: "/").last ?? "Dockerfile"))
    options.tags = try (request.repeated["t"] ?? []).filter { !$0.isEmpty }.map { tag in
      try Reference(parsing: tag).withDefaultTag.description
    }
    options.buildArgs = try jsonMap(request, "buildargs") ?? [:]
    options.labels = try jsonMap(request, "labels") ?? [:]
    options.target = request.query["target"].flatMap { $0.isEmpty ? nil : $0 }
    options.noCache = request.flag("nocache")
    // Docker's builder writes docker-format images.
    options.format = .docker
    switch request.query["networkmode"] ?? "" {
    case "", "default", "bridge": break
    case "none", "host": options.network = request.query["networkmode"]
    case let other:
      throw BerthError(
        .invalidArgument, "network mode \(other) is not supported for builds",
        hint: "use default, none or host")
    }
    if let platform = request.query["platform"], !platform.isEmpty {
      try Platform.requireHost(platform, hint: "berth builds for the host's platform only")
    }
    return options
  }

  /// `buildargs` and `labels`: JSON objects of strings (null values drop).
  static func jsonMap(_ request: APIRequest, _ key: String) throws -> [String: String]? {
    guard let text = request.query[key], !text.isEmpty else { return nil }
    do {
      let decoded = try JSONDecoder().decode([String: String?].self, from: Data(text.utf8))
      return decoded.compactMapValues { $0 }
    } catch {
      throw BerthError(
        .invalidArgument, "invalid \(key): \(text)", hint: "send a JSON object of strings")
    }
  }

  /// A FROM image: the store's, else pulled (always with pull=1).
  static func baseImage(_ name: String, pull: Bool, engine: Engine, request: APIRequest)
    async throws -> ImageRecord
  {
    if !pull, let local = try? engine.store.resolveImage(name) { return local }
    let reference = try Reference(parsing: name)
    return try await engine.store.pullSearching(
      reference, options: ImageEndpoints.registryOptions(reference, request), progress: nil)
  }
}
