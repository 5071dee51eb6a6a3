// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// Images in and out: push to a registry with docker's streamed progress,
// `get` as a docker-archive tar, `load` of one (spooled to disk first, so
// a bad archive changes nothing in the store).
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

enum ImageTransferEndpoints {
  /// POST /images/{name}/push?tag=
  static func push(_ name: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    var text = name
    if let tag = request.query["tag"], !tag.isEmpty { text += ":" + tag }
    let engine = try state.engine()
    let image = try ImageEndpoints.resolve(text, engine)
    let destination = try Reference(parsing: text).withDefaultTag
    let options = ImageEndpoints.registryOptions(destination, request)
    return .streaming(.ok, contentType: "application/json") { emit in
      // Its own: the handler's engine went back to the pool with it.
      let engine = (try? state.engine()) ?? engine
      @Sendable func send(_ object: [String: String]) { emit(Router.json(object)) }
      send(["status": "The push refers to repository [\(destination.domain)/\(destination.path)]"])
      let pushed = awaitTask {
        try await engine.store.push(
          image, to: destination, options: options, progress: { line in send(["status": line]) })
      }
      let manifest: Digest
      switch pushed {
      case .failure(let error):
        emit(Router.json(Failure(describe(error))))
        return
      case .success(let digest): manifest = digest
      }
      engine.recordImageEvent("push", id: image.id.description, name: destination.description)
      let size = (try? engine.store.blobSize(manifest)) ?? 0
      let tag = destination.tag ?? "latest"
      send(["status": "\(tag): digest: \(manifest) size: \(size)"])
      struct Aux: Encodable {
        var progressDetail: [String: String] = [:]
        var aux: Info
        struct Info: Encodable {
          var Tag: String
          var Digest: String
          var Size: Int64
        }
      }
      emit(Router.json(Aux(aux: .init(Tag: tag, Digest: manifest.description, Size: size))))
    }
  }

  /// GET /images/{name}/get and /images/get?names=: one docker-archive tar.
  static func save(_ names: [String], _ state: ServiceState) throws -> APIResponse {
    guard !names.isEmpty else {
      throw BerthError(.invalidArgument, "no image names given", hint: "add names=IMAGE")
    }
    let engine = try state.engine()
    for name in names { _ = try ImageEndpoints.resolve(name, engine) }
    let file = try SpooledBody(directory: state.spoolDirectory)
    try engine.store.save(names, format: .dockerArchive, to: file.path)
    return .streaming(.ok, contentType: "application/x-tar") { body in
      // The file was replaced by save's rename: read it by path.
      let fd = open(file.path, O_RDONLY | O_CLOEXEC)
      guard fd >= 0 else { return }
      defer { close(fd) }
      _ = body.copy(from: fd)
    }
  }

  /// POST /images/load: the body is a docker-archive (or OCI archive) tar.
  static func load(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    guard let body = request.spooled, body.size > 0 else {
      throw BerthError(
        .invalidArgument, "no image archive in the request body",
        hint: "send a docker-archive or OCI archive tar as the body")
    }
    let engine = try state.engine()
    let loaded = try engine.store.load(from: body.path)
    var output: [UInt8] = []
    // An image the archive lists under several tags comes back once each.
    var seen = Set<String>()
    for image in loaded where seen.insert(image.id.description).inserted {
      engine.recordImageEvent("load", id: image.id.description, name: image.names.first ?? "")
      let lines =
        image.names.isEmpty
        ? ["Loaded image ID: \(image.id)\n"]
        : image.names.map { "Loaded image: \(ImageEndpoints.shortName($0))\n" }
      for line in lines { output += Router.json(["stream": line]) }
    }
    // As docker's daemon: `quiet` drops progress, not these lines.
    return .json(.ok, output)
  }

  /// docker's JSONError at the end of a stream.
  struct Failure: Encodable {
    var error: String
    var errorDetail: [String: String]

    init(_ message: String) {
      error = message
      errorDetail = ["message": message]
    }
  }
}
