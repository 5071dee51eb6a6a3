// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /images: list and inspect in docker's shapes. Pulling through the API
// (POST /images/create) is not served yet: it answers with a clear error.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials

enum ImageEndpoints {
  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    switch (request.method, path.count, path.last ?? "") {
    case (.GET, 1, "json"): return try list(state)
    case (.POST, 1, "create"):
      throw BerthError(
        .unsupported,
        "pulling through the API is not supported yet: \(request.query["fromImage"] ?? "")",
        hint: "pull it with `berth pull` first")
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
      throw BerthError(.notFound, "No such image: \(name)")
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
