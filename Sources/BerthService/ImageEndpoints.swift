// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /images: list and inspect in docker's shapes, and pull (POST
// /images/create) with docker's streamed progress lines.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import Dispatch
import FoundationEssentials

enum ImageEndpoints {
  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    switch (request.method, path.count, path.last ?? "") {
    case (.GET, 1, "json"): return try list(state)
    case (.POST, 1, "create"): return try pull(request, state)
    case (.GET, _, "json") where path.count >= 2:
      return try inspect(path.dropLast().joined(separator: "/"), state)
    default: return Router.notFound("page not found")
    }
  }

  struct Summary: Encodable {
    var Id: String
    var ParentId = ""
    var RepoTags: [String]
    var RepoDigests: [String]
    var Created: Int64
    var Size: Int64
    var SharedSize: Int64 = -1
    var Labels: [String: String]
    var Containers: Int = -1
  }

  static func list(_ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    var result: [Summary] = []
    for image in try engine.store.images() where image.intermediate != true || !image.names.isEmpty
    {
      let config = try? engine.store.config(of: image)
      result.append(
        Summary(
          Id: image.id.description, RepoTags: image.names.map(shortName),
          RepoDigests: image.names.compactMap { name in
            (try? Reference(parsing: name, defaultTag: false)).map {
              "\($0.repository)@\(image.manifest)"
            }
          },
          Created: ContainerEndpoints.unixTime(image.created),
          Size: engine.store.unpackedSize(of: image),
          Labels: config?.config?.labels ?? [:]))
    }
    return .json(.ok, Router.json(result))
  }

  /// Pulls `fromImage[:tag]`, streaming docker's progress objects; an
  /// error ends the stream as `{"error": ..., "errorDetail": ...}`.
  static func pull(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    guard let from = request.query["fromImage"], !from.isEmpty else {
      throw BerthError(
        .unsupported, "only pulls (fromImage=) are served", hint: "import with `berth import`")
    }
    var name = from
    if let tag = request.query["tag"], !tag.isEmpty {
      name += (tag.hasPrefix("sha256:") || tag.hasPrefix("sha512:") ? "@" : ":") + tag
    }
    let reference = try Reference(parsing: name)
    var options = RegistryOptions()
    // As docker's daemon: a registry on the loopback may be plain HTTP.
    if reference.domain.hasPrefix("127.") || reference.domain.hasPrefix("localhost") {
      options.tlsVerify = false
    }
    if let auth = request.headers["X-Registry-Auth"].first,
      let credentials = decodeAuth(auth)
    {
      options.credentials = credentials
    }
    let engine = try state.engine()
    let pullOptions = options
    return .streaming(.ok, contentType: "application/json") { emit in
      @Sendable func send(_ object: [String: String]) { emit(Router.json(object)) }
      send(["status": "Pulling from \(reference.path)", "id": reference.tag ?? "latest"])
      let done = DispatchSemaphore(value: 0)
      let outcome = Outcome()
      Task {
        do {
          outcome.record = try await engine.store.pullSearching(
            reference, options: pullOptions, progress: { line in send(["status": line]) })
        } catch {
          outcome.error = (error as? BerthError)?.description ?? "\(error)"
        }
        done.signal()
      }
      done.wait()
      if let error = outcome.error {
        struct Failure: Encodable {
          var error: String
          var errorDetail: [String: String]
        }
        emit(Router.json(Failure(error: error, errorDetail: ["message": error])))
      } else if let record = outcome.record {
        send(["status": "Digest: \(record.manifest)"])
        send([
          "status":
            "Status: Downloaded newer image for \(shortName(reference.withDefaultTag.description))"
        ])
      }
    }
  }

  /// The outcome of an async pull, read after its semaphore.
  final class Outcome: @unchecked Sendable {
    var record: ImageRecord?
    var error: String?
  }

  /// X-Registry-Auth: base64url JSON with username and password.
  static func decodeAuth(_ header: String) -> Credentials? {
    var text = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(
      of: "_", with: "/")
    while text.count % 4 != 0 { text += "=" }
    guard let data = Data(base64Encoded: text),
      let fields = try? JSONDecoder().decode([String: String].self, from: data),
      let user = fields["username"], !user.isEmpty
    else { return nil }
    return Credentials(username: user, password: fields["password"] ?? "")
  }

  /// docker.io/library/busybox:latest → busybox:latest, as docker shows it.
  static func shortName(_ name: String) -> String {
    if name.hasPrefix("docker.io/library/") { return String(name.dropFirst(18)) }
    if name.hasPrefix("docker.io/") { return String(name.dropFirst(10)) }
    return name
  }

  struct Inspected: Encodable {
    var Id: String
    var RepoTags: [String]
    var Created: String
    var Author: String
    var Architecture: String
    var Os: String
    var Size: Int64
    var Config: ImageConfig.Config?
    var RootFS: RootFSInfo

    struct RootFSInfo: Encodable {
      var `Type` = "layers"
      var Layers: [String]
    }
  }

  static func inspect(_ name: String, _ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    let image: ImageRecord
    do {
      image = try engine.store.resolveImage(name)
    } catch {
      throw BerthError(
        .notFound, "No such image: \(name)", hint: "pull it first (docker pull, berth pull)")
    }
    let config = try engine.store.config(of: image)
    return .json(
      .ok,
      Router.json(
        Inspected(
          Id: image.id.description, RepoTags: image.names.map(shortName),
          Created: config.created ?? "", Author: config.author ?? "",
          Architecture: config.architecture, Os: config.os,
          Size: engine.store.unpackedSize(of: image), Config: config.config,
          RootFS: .init(Layers: config.rootfs.diffIDs.map(\.description)))))
  }
}
