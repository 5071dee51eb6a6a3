// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /version and /info in docker's shapes.
import BerthEngine
import BerthImage
import BerthSystem
import FoundationEssentials
import Glibc

enum SystemEndpoints {
  struct Version: Encodable {
    var Version: String
    var ApiVersion = Router.apiVersion
    var MinAPIVersion = Router.minimumVersion
    var Os = "linux"
    var Arch: String
    var KernelVersion: String
    var GoVersion = "n/a (Swift)"
    var GitCommit = ""
    var BuildTime = ""
    var Components: [Component]

    struct Component: Encodable {
      var Name: String
      var Version: String
      var Details: [String: String]
    }
  }

  static func uname() -> (release: String, machine: String) {
    var info = utsname()
    Glibc.uname(&info)
    func text<T>(_ field: T) -> String {
      withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    return (text(info.release), text(info.machine))
  }

  static var architecture: String {
    switch uname().machine {
    case "x86_64": "amd64"
    case "aarch64": "arm64"
    case let other: other
    }
  }

  static func version(_ state: ServiceState) throws -> APIResponse {
    let version = state.server.version
    return .json(
      .ok,
      Router.json(
        Version(
          Version: version, Arch: architecture, KernelVersion: uname().release,
          Components: [
            Version.Component(
              Name: "Engine", Version: version,
              Details: [
                "ApiVersion": Router.apiVersion, "MinAPIVersion": Router.minimumVersion,
                "Os": "linux", "Arch": architecture, "KernelVersion": uname().release,
                "GitCommit": "", "GoVersion": "n/a (Swift)", "BuildTime": "",
                "Experimental": "false",
              ])
          ])))
  }

  struct Info: Encodable {
    var ID: String
    var Containers: Int
    var ContainersRunning: Int
    var ContainersPaused: Int
    var ContainersStopped: Int
    var Images: Int
    var Driver = "overlay"
    var DockerRootDir: String
    var OperatingSystem: String
    var OSType = "linux"
    var Architecture: String
    var NCPU: Int
    var MemTotal: Int64
    var Name: String
    var ServerVersion: String
    var KernelVersion: String
    var CgroupDriver = "cgroupfs"
    var CgroupVersion: String
    var SecurityOptions = ["name=seccomp,profile=default"]
  }

  static func info(_ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    let containers = try engine.containers()
    let host = hostName() ?? ""
    let os =
      (try? readFile("/etc/os-release")).flatMap { bytes in
        String(decoding: bytes, as: UTF8.self).split(separator: "\n")
          .first { $0.hasPrefix("PRETTY_NAME=") }
          .map { String($0.dropFirst(12).filter { $0 != "\"" }) }
      } ?? "Linux"
    let info = Info(
      ID: host, Containers: containers.count,
      ContainersRunning: containers.filter { $0.state == .running }.count,
      ContainersPaused: containers.filter { $0.state == .paused }.count,
      ContainersStopped: containers.filter { $0.state == .exited || $0.state == .created }.count,
      Images: (try? engine.store.images().count) ?? 0, DockerRootDir: engine.root,
      OperatingSystem: os, Architecture: uname().machine,
      NCPU: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
      MemTotal: Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE))),
      Name: host, ServerVersion: state.server.version,
      KernelVersion: uname().release,
      CgroupVersion: fileExists("/sys/fs/cgroup/cgroup.controllers") ? "2" : "1")
    return .json(.ok, Router.json(info))
  }
}

// MARK: events, system/df, auth

extension SystemEndpoints {
  /// GET /events: the engine's event log as docker's JSON messages, one
  /// per line; streamed until `until` or until the client goes.
  static func events(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let filters = try Filters(
      request,
      allowed: ["type", "event", "container", "volume", "network", "label", "image", "scope"])
    let since = try request.query["since"].flatMap { try Filters.nanoseconds($0) }
    let until = try request.query["until"].flatMap { try Filters.nanoseconds($0) }
    let engine = try state.engine()
    // Without since, only what happens from now on, as docker streams.
    let start = since == nil ? (try engine.lastEventSeq()) : 0
    return .streaming(.ok, contentType: "application/json") { emit in
      guard let engine = try? state.engine() else { return }
      var last = start
      while emit.isOpen {
        for event in (try? engine.events(afterSeq: last, since: since)) ?? [] {
          last = event.seq
          if let until, event.time > until { return }
          if matches(event, filters) { emit(Router.json(Message(event))) }
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        if let until, Int64(now.tv_sec) * 1_000_000_000 > until { return }
        usleep(100_000)
      }
    }
  }

  static func matches(_ event: EngineEvent, _ filters: Filters) -> Bool {
    let attributes = event.attributeMap
    return filters.matches("type", { $0 == event.type })
      && filters.matches(
        "event",
        { wanted in
          let docker = dockerAction(event.action, type: event.type)
          // Docker's exec actions carry the command: `exec_start: sh -c ...`.
          return wanted == event.action || wanted == docker || docker.hasPrefix(wanted + ": ")
        })
      && filters.matches("scope", { $0 == "local" })
      && filters.matches(
        "image",
        {
          $0 == attributes["image"] || event.type == "image" && (event.name == $0 || event.id == $0)
        })
      && filters.matchesLabels(attributes)
      && ["container", "volume", "network"].allSatisfy { key in
        filters.values[key] == nil
          || event.type == key
            && filters.matches(key, { $0 == event.name || event.id.hasPrefix($0) })
      }
  }

  /// The engine's (podman's) words for some actions, in docker's: an
  /// image is deleted, the rest destroyed.
  static func dockerAction(_ action: String, type: String, command: String? = nil) -> String {
    switch action {
    case "died": return "die"
    case "remove": return type == "image" ? "delete" : "destroy"
    case "exec": return "exec_start: " + (command ?? "")
    case "exec_died": return "exec_die"
    default: return action
    }
  }

  struct Message: Encodable {
    var status: String?
    var id: String?
    var from: String?
    var `Type`: String
    var Action: String
    var Actor: ActorInfo
    var scope = "local"
    var time: Int64
    var timeNano: Int64

    struct ActorInfo: Encodable {
      var ID: String
      var Attributes: [String: String]
    }

    init(_ event: EngineEvent) {
      var attributes = event.attributeMap
      attributes["name"] = attributes["name"] ?? event.name
      // Docker's older top-level fields, for containers only.
      if event.type == "container" {
        status = event.action
        id = event.id
        from = attributes["image"]
      }
      Type = event.type
      Action = SystemEndpoints.dockerAction(
        event.action, type: event.type, command: attributes["execCommand"])
      if status != nil { status = Action }
      Actor = ActorInfo(ID: event.id, Attributes: attributes)
      time = event.time / 1_000_000_000
      timeNano = event.time
    }
  }

  /// GET /system/df in docker's shape.
  static func diskUsage(_ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    let usage = try engine.diskUsage()
    let containerCounts = Dictionary(grouping: usage.containers, by: \.container.imageID)
      .mapValues(\.count)
    struct Volume: Encodable {
      var Name: String
      var Driver: String
      var Mountpoint: String
      var CreatedAt: String
      var Labels: [String: String]
      var Scope = "local"
      var Options: [String: String]
      var UsageData: [String: Int64]
    }
    struct Usage: Encodable {
      var LayersSize: Int64
      var Images: [ImageEndpoints.Summary]
      var Containers: [ContainerEndpoints.Summary]
      var Volumes: [Volume]
      var BuildCache: [String] = []
    }
    let images = usage.images.filter { $0.intermediate != true || !$0.names.isEmpty }
    let sizes = Dictionary(usage.images.map { ($0.id.description, $0.size) }) { a, _ in a }
    return .json(
      .ok,
      Router.json(
        Usage(
          LayersSize: images.reduce(0) { $0 + $1.size },
          Images: images.map { image in
            ImageEndpoints.Summary(
              Id: image.id.description, RepoTags: image.names.map(ImageEndpoints.shortName),
              RepoDigests: [], Created: ContainerEndpoints.unixTime(image.created),
              Size: image.size, Labels: [:],
              Containers: containerCounts[image.id.description] ?? 0)
          },
          Containers: usage.containers.map { item in
            var summary = ContainerEndpoints.summary(
              item.container, config: try? item.container.listing(),
              command: (try? engine.containerCommand(item.container)) ?? [], attachments: [],
              ports: [])
            summary.SizeRw = item.size
            summary.SizeRootFs = item.size + (sizes[item.container.imageID] ?? 0)
            return summary
          },
          Volumes: usage.volumes.map { item in
            let v = item.volume
            return Volume(
              Name: v.name, Driver: v.driver, Mountpoint: v.mountpoint, CreatedAt: v.created,
              Labels: v.labelMap, Options: v.optionMap,
              UsageData: ["Size": item.size, "RefCount": Int64(item.users)])
          })))
  }

  /// POST /auth: checks the credentials against the registry (nothing is
  /// stored: docker clients keep their own and send X-Registry-Auth).
  static func auth(_ request: APIRequest) throws -> APIResponse {
    struct Body: Decodable {
      var username: String?
      var password: String?
      var serveraddress: String?
    }
    let body = try Router.decode(Body.self, request.body)
    guard let user = body.username, !user.isEmpty, let server = body.serveraddress,
      !server.isEmpty
    else {
      throw BerthError(
        .invalidArgument, "username and serveraddress are required",
        hint: "send {\"username\", \"password\", \"serveraddress\"}")
    }
    var domain = server
    for prefix in ["https://", "http://"] where domain.hasPrefix(prefix) {
      domain = String(domain.dropFirst(prefix.count))
    }
    domain = String(domain.split(separator: "/").first ?? "")
    var options = RegistryOptions()
    options.credentials = Credentials(username: user, password: body.password ?? "")
    if ImageEndpoints.isLoopback(domain) { options.tlsVerify = false }
    let settings = options
    let registry = domain
    let checked = awaitTask {
      let client = try RegistryClient(domain: registry, options: settings)
      do {
        try await client.ping()
      } catch {
        await client.shutdown()
        throw error
      }
      await client.shutdown()
    }
    if case .failure(let error) = checked {
      throw BerthError(
        .permissionDenied, "login to \(domain) failed: \(error)",
        hint: "check the user name and password")
    }
    return .json(.ok, Router.json(["Status": "Login Succeeded", "IdentityToken": ""]))
  }

}
