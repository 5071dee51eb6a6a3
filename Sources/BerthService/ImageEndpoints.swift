// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /images: list, inspect, history, tag, delete and prune in docker's
// shapes, and pull (POST /images/create) with docker's streamed progress
// lines; push, get and load are in ImageTransferEndpoints.swift.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

enum ImageEndpoints {
  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    // Names hold slashes: the image is every segment but the verb.
    let name = path.dropLast().joined(separator: "/")
    switch (request.method, path.count, path.last ?? "") {
    case (.GET, 1, "json"): return try list(request, state)
    case (.POST, 1, "create"): return try pull(request, state)
    case (.POST, 1, "load"): return try ImageTransferEndpoints.load(request, state)
    case (.POST, 1, "prune"): return try prune(request, state)
    case (.GET, 1, "get"):
      return try ImageTransferEndpoints.save(request.repeated["names"] ?? [], state)
    case (.GET, 1, "search"):
      throw BerthError(
        .unsupported, "image search is not supported: Berth does not query registries' indexes",
        hint: "browse the registry's web page, or list its tags with skopeo list-tags")
    case (.GET, 2..., "json"): return try inspect(name, request, state)
    case (.GET, 2..., "history"): return try history(name, state)
    case (.GET, 2..., "get"): return try ImageTransferEndpoints.save([name], state)
    case (.POST, 2..., "tag"): return try tag(name, request, state)
    case (.POST, 2..., "push"): return try ImageTransferEndpoints.push(name, request, state)
    case (.DELETE, 1..., _): return try remove(path.joined(separator: "/"), request, state)
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

  static func list(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let filters = try Filters(
      request, allowed: ["dangling", "label", "label!", "reference"])
    let engine = try state.engine()
    var result: [Summary] = []
    for image in try engine.store.images() where image.intermediate != true || !image.names.isEmpty
    {
      let config = try? engine.store.config(of: image)
      // With a reference filter, docker lists only the names that match.
      // Patterns are globs over the familiar name, with or without its tag
      // (`busy*`, `busybox:1.*`), as docker's reference filter reads them.
      let names = image.names.filter { name in
        filters.matches("reference", { referenceMatches($0, name) })
      }
      guard filters.dangling.map({ image.names.isEmpty == $0 }) ?? true,
        filters.matchesLabels(config?.config?.labels ?? [:]),
        filters.values["reference"] == nil || !names.isEmpty
      else { continue }
      result.append(
        Summary(
          Id: image.id.description, RepoTags: names.map(shortName),
          // Of the names listed only: the docker CLI shows a row per digest.
          RepoDigests: repoDigests(image, names: names),
          Created: ContainerEndpoints.unixTime(image.created),
          Size: engine.store.unpackedSize(of: image),
          Labels: config?.config?.labels ?? [:]))
    }
    return .json(.ok, Router.json(result))
  }

  /// True when glob `pattern` matches image name `name` in any form docker
  /// accepts: familiar (`busybox:latest`) or full, with or without the tag.
  static func referenceMatches(_ pattern: String, _ name: String) -> Bool {
    // The repository is the name without its tag (a registry's port is
    // not one).
    let repository = (try? Reference(parsing: name, defaultTag: false))?.repository ?? name
    let forms: [String] = [shortName(name), shortName(repository), name, repository]
    return forms.contains { (form: String) -> Bool in fnmatch(pattern, form, 0) == 0 }
  }

  /// The image a request names, with docker's 404 wording when missing.
  static func resolve(_ name: String, _ engine: Engine) throws -> ImageRecord {
    do {
      return try engine.store.resolveImage(name)
    } catch {
      throw BerthError(
        .notFound, "No such image: \(name)", hint: "pull it first (docker pull, berth pull)")
    }
  }

  /// `tag` to `repo:tag`; 201 as docker answers.
  static func tag(_ name: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let image = try resolve(name, engine)
    guard let repo = request.query["repo"], !repo.isEmpty else {
      throw BerthError(
        .invalidArgument, "repository name must have at least one component",
        hint: "give the new name as ?repo=NAME (and ?tag=TAG)")
    }
    let tag = request.query["tag"].flatMap { $0.isEmpty ? nil : $0 } ?? "latest"
    let reference = try Reference(parsing: repo + ":" + tag)
    try engine.store.tag(image, as: reference)
    engine.recordImageEvent("tag", id: image.id.description, name: reference.description)
    return .empty(.created)
  }

  /// `[{"Untagged": name}, {"Deleted": id}]` as docker lists them.
  static func remove(_ name: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let image = try resolve(name, engine)
    let lines = try engine.store.remove(name, force: request.flag("force"))
    engine.recordImageRemoval(lines, id: image.id.description)
    let items = lines.map { line -> [String: String] in
      if line.hasPrefix("Untagged: ") { return ["Untagged": shortName(String(line.dropFirst(10)))] }
      return ["Deleted": "sha256:" + line.dropFirst("Deleted: ".count)]
    }
    return .json(.ok, Router.json(items))
  }

  /// Unnamed images, or with `dangling=false` every unused one.
  static func prune(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    // Only dangling is applied: an accepted but ignored until or label
    // would delete images the caller meant to keep.
    let filters = try Filters(request, allowed: ["dangling"])
    let engine = try state.engine()
    let sizes = Dictionary(
      try engine.store.images().map { ($0.id, engine.store.unpackedSize(of: $0)) }
    ) { a, _ in a }
    let removed = try engine.store.prune(all: filters.dangling == false)
    struct Pruned: Encodable {
      var ImagesDeleted: [[String: String]]
      var SpaceReclaimed: Int64
    }
    return .json(
      .ok,
      Router.json(
        Pruned(
          ImagesDeleted: removed.map { ["Deleted": $0.description] },
          SpaceReclaimed: removed.reduce(0) { $0 + (sizes[$1] ?? 0) })))
  }

  /// The config's history, newest first; the top entry carries the id.
  static func history(_ name: String, _ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    let image = try resolve(name, engine)
    let config = try engine.store.config(of: image)
    var sizes = try engine.store.manifest(of: image).layers.map(\.size)
    struct Entry: Encodable {
      var Id = "<missing>"
      var Created: Int64
      var CreatedBy: String
      var Tags: [String]?
      var Size: Int64
      var Comment: String
    }
    var entries = (config.history ?? []).map { item in
      Entry(
        Created: ContainerEndpoints.unixTime(item.created), CreatedBy: item.createdBy ?? "",
        Size: item.emptyLayer == true || sizes.isEmpty ? 0 : sizes.removeFirst(),
        Comment: item.comment ?? "")
    }
    if !entries.isEmpty {
      entries[entries.count - 1].Id = image.id.description
      entries[entries.count - 1].Tags = image.names.map(shortName)
    }
    return .json(.ok, Router.json(Array(entries.reversed())))
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
    let options = registryOptions(reference, request)
    let engine = try state.engine()
    let pullOptions = options
    return .streaming(.ok, contentType: "application/json") { emit in
      // Its own: the handler's engine went back to the pool with it.
      let engine = (try? state.engine()) ?? engine
      @Sendable func send(_ object: [String: String]) { emit(Router.json(object)) }
      send(["status": "Pulling from \(reference.path)", "id": reference.tag ?? "latest"])
      let pulled = awaitTask {
        try await engine.store.pullSearching(
          reference, options: pullOptions, progress: { line in send(["status": line]) })
      }
      switch pulled {
      case .failure(let error):
        emit(Router.json(ImageTransferEndpoints.Failure(describe(error))))
      case .success(let record):
        engine.recordImageEvent(
          "pull", id: record.id.description, name: reference.withDefaultTag.description)
        send(["status": "Digest: \(record.manifest)"])
        send([
          "status":
            "Status: Downloaded newer image for \(shortName(reference.withDefaultTag.description))"
        ])
      }
    }
  }

  /// Credentials from X-Registry-Auth; as docker's daemon, a registry on
  /// the loopback may be plain HTTP.
  static func registryOptions(_ reference: Reference, _ request: APIRequest) -> RegistryOptions {
    var options = RegistryOptions()
    if isLoopback(reference.domain) { options.tlsVerify = false }
    if let auth = request.headers["X-Registry-Auth"].first, let credentials = decodeAuth(auth) {
      options.credentials = credentials
    }
    return options
  }

  /// `localhost`, 127.0.0.0/8 or ::1, with or without a port: as docker's
  /// daemon, such a registry may be plain HTTP. A name that only starts
  /// so (localhost.example.com) is not loopback.
  static func isLoopback(_ domain: String) -> Bool {
    var host = domain
    if host.hasPrefix("[") {
      host = String(host.dropFirst().prefix { $0 != "]" })
      return host == "::1"
    }
    if let colon = host.lastIndex(of: ":") { host = String(host[..<colon]) }
    if host == "localhost" { return true }
    let octets = host.split(separator: ".", omittingEmptySubsequences: false)
    return octets.count == 4 && octets[0] == "127"
      && octets.allSatisfy { UInt8($0) != nil && !$0.isEmpty }
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
    var RepoDigests: [String]
    var Parent = ""
    var Comment = ""
    var Created: String
    var DockerVersion = ""
    var Author: String
    var Architecture: String
    var Os: String
    var Size: Int64
    /// Before 1.44 only.
    var VirtualSize: Int64?
    var Config: ImageConfig.Config?
    /// Docker dropped these in 1.45, but docker-compose 1.x (Debian 12's)
    /// negotiates the newest version and reads ContainerConfig's Volumes to
    /// recreate a container, failing on a KeyError without it (as it does
    /// against docker 25 and later). Newer clients ignore them.
    var Container = ""
    var ContainerConfig: ImageConfig.Config
    var RootFS: RootFSInfo

    struct RootFSInfo: Encodable {
      var `Type` = "layers"
      var Layers: [String]
    }
  }

  static func inspect(_ name: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let image = try resolve(name, engine)
    let config = try engine.store.config(of: image)
    let size = engine.store.unpackedSize(of: image)
    var inspected = Inspected(
      Id: image.id.description, RepoTags: image.names.map(shortName),
      RepoDigests: repoDigests(image, names: image.names), Created: config.created ?? "",
      Author: config.author ?? "", Architecture: config.architecture, Os: config.os,
      Size: size, Config: config.config, ContainerConfig: config.config ?? ImageConfig.Config(),
      RootFS: .init(Layers: config.rootfs.diffIDs.map(\.description)))
    if request.minorVersion < 44 { inspected.VirtualSize = size }
    return .json(.ok, Router.json(inspected))
  }

  /// `repository@manifest-digest` for each of `names` (the image's).
  static func repoDigests(_ image: ImageRecord, names: [String]) -> [String] {
    var digests: [String] = []
    for name in names {
      guard let reference = try? Reference(parsing: name, defaultTag: false) else { continue }
      let digest = "\(reference.repository)@\(image.manifest)"
      if !digests.contains(digest) { digests.append(digest) }
    }
    return digests
  }
}
