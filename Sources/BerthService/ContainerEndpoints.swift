// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /containers: list, create, inspect, start, stop, kill, restart, wait,
// remove, attach, logs, resize. The create body (docker's container config
// with its HostConfig) becomes the engine's ContainerConfig, as the CLI's
// flags do.
import BerthEngine
import BerthImage
import BerthMonitor
import BerthSystem
import FoundationEssentials
import Glibc
import NIOHTTP1

struct CreateBody: Decodable {
  var Image: String?
  var Cmd: [String]?
  var Entrypoint: [String]?
  var Env: [String]?
  var WorkingDir: String?
  var User: String?
  var Hostname: String?
  var Tty: Bool?
  var OpenStdin: Bool?
  var Labels: [String: String]?
  var StopSignal: String?
  var HostConfig: Host?

  struct Host: Decodable {
    var Binds: [String]?
    var AutoRemove: Bool?
    var NetworkMode: String?
    var Privileged: Bool?
    var CapAdd: [String]?
    var CapDrop: [String]?
    var Memory: Int64?
    var ReadonlyRootfs: Bool?
    var Init: Bool?
    var RestartPolicy: Restart?
    var LogConfig: Log?

    struct Log: Decodable {
      var `Type`: String?
    }

    struct Restart: Decodable {
      var Name: String?
      var MaximumRetryCount: Int?
    }
  }

  /// Docker sends `Entrypoint` as a string or a list (and null).
  enum CodingKeys: String, CodingKey {
    case Image, Cmd, Entrypoint, Env, WorkingDir, User, Hostname, Tty, OpenStdin, Labels
    case StopSignal, HostConfig
  }

  init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    Image = try c.decodeIfPresent(String.self, forKey: .Image)
    Cmd = try Self.list(c, .Cmd)
    Entrypoint = try Self.list(c, .Entrypoint)
    Env = try c.decodeIfPresent([String].self, forKey: .Env)
    WorkingDir = try c.decodeIfPresent(String.self, forKey: .WorkingDir)
    User = try c.decodeIfPresent(String.self, forKey: .User)
    Hostname = try c.decodeIfPresent(String.self, forKey: .Hostname)
    Tty = try c.decodeIfPresent(Bool.self, forKey: .Tty)
    OpenStdin = try c.decodeIfPresent(Bool.self, forKey: .OpenStdin)
    Labels = try c.decodeIfPresent([String: String].self, forKey: .Labels)
    StopSignal = try c.decodeIfPresent(String.self, forKey: .StopSignal)
    HostConfig = try c.decodeIfPresent(Host.self, forKey: .HostConfig)
  }

  static func list(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [String]? {
    if let text = try? c.decodeIfPresent(String.self, forKey: key) { return [text] }
    return try c.decodeIfPresent([String].self, forKey: key)
  }
}

enum ContainerEndpoints {
  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    switch (request.method, path.count, path.last ?? "") {
    case (.GET, 1, "json"): return try list(request, state)
    case (.POST, 1, "create"): return try create(request, state)
    case (.GET, 2, "json"): return try inspect(path[0], state)
    case (.POST, 2, "start"): return try start(path[0], state)
    case (.POST, 2, "stop"):
      _ = try state.engine().stopContainer(path[0], timeout: request.query["t"].flatMap { Int($0) })
      return .empty(.noContent)
    case (.POST, 2, "restart"):
      let engine = try state.engine()
      _ = try engine.stopContainer(path[0], timeout: request.query["t"].flatMap { Int($0) })
      return try start(path[0], state)
    case (.POST, 2, "kill"):
      let signal = try Signal.parse(request.query["signal"] ?? "SIGKILL")
      _ = try state.engine().killContainer(path[0], signal: signal)
      return .empty(.noContent)
    case (.POST, 2, "wait"): return try wait(path[0], request, state)
    case (.DELETE, 1, _):
      _ = try state.engine().removeContainer(
        path[0], force: request.flag("force"), volumes: request.flag("v"))
      return .empty(.noContent)
    case (.POST, 2, "attach"): return try attach(path[0], request, state)
    case (.GET, 2, "logs"): return try logs(path[0], request, state)
    case (.POST, 2, "resize"): return .empty(.ok)
    case (.POST, 2, "exec"): return try ExecEndpoints.create(path[0], request, state)
    case (.GET, 2, "top"): return try ContainerControlEndpoints.top(path[0], request, state)
    case (.GET, 2, "stats"): return try ContainerControlEndpoints.stats(path[0], request, state)
    case (.POST, 2, "rename"): return try ContainerControlEndpoints.rename(path[0], request, state)
    case (.POST, 2, "pause"): return try ContainerControlEndpoints.pause(path[0], true, state)
    case (.POST, 2, "unpause"): return try ContainerControlEndpoints.pause(path[0], false, state)
    case (.POST, 2, "update"): return try ContainerControlEndpoints.update(path[0], request, state)
    case (.POST, 1, "prune"): return try ContainerControlEndpoints.prune(request, state)
    case (.GET, 2, "changes"): return try ContainerFileEndpoints.changes(path[0], state)
    case (.GET, 2, "export"): return try ContainerFileEndpoints.export(path[0], state)
    case (.GET, 2, "archive"), (.HEAD, 2, "archive"), (.PUT, 2, "archive"):
      return try ContainerFileEndpoints.archive(path[0], request, state)
    default: return Router.notFound("page not found")
    }
  }

  struct Summary: Encodable {
    var Id: String
    var Names: [String]
    var Image: String
    var ImageID: String
    var Command: String
    var Created: Int64
    var State: String
    var Status: String
    var Ports: [String] = []
    var Labels: [String: String]
  }

  static func unixTime(_ rfc3339: String?) -> Int64 {
    guard let rfc3339, let ns = LogParser.nanoseconds(rfc3339: rfc3339) else { return 0 }
    return ns / 1_000_000_000
  }

  static func list(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    var containers = try engine.containers()
    if !request.flag("all") { containers = containers.filter { $0.state == .running } }
    let summaries = containers.map { container in
      let config = try? container.decodedConfig()
      let status: String =
        switch container.state {
        case .running: "Up"
        case .paused: "Up (Paused)"
        case .created: "Created"
        case .exited: "Exited (\(container.exitCode ?? 0))"
        }
      return Summary(
        Id: container.id, Names: ["/" + container.name], Image: container.imageName,
        ImageID: container.imageID,
        Command: ((try? engine.containerCommand(container)) ?? []).joined(separator: " "),
        Created: unixTime(container.created), State: container.state.rawValue, Status: status,
        Labels: config?.labels ?? [:])
    }
    return .json(.ok, Router.json(summaries))
  }

  static func create(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let body = try Router.decode(CreateBody.self, request.body)
    guard let imageName = body.Image, !imageName.isEmpty else {
      throw BerthError(
        .invalidArgument, "config: Image is required", hint: "name the image in the body's Image")
    }
    let engine = try state.engine()
    let image: ImageRecord
    do {
      image = try engine.store.resolveImage(imageName)
    } catch {
      throw BerthError(
        .notFound, "No such image: \(imageName)", hint: "pull it first (docker pull, berth pull)")
    }
    var config = ContainerConfig()
    config.command = body.Cmd
    config.entrypoint = body.Entrypoint
    config.env = body.Env ?? []
    config.workingDir = body.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
    config.user = body.User.flatMap { $0.isEmpty ? nil : $0 }
    config.hostname = body.Hostname.flatMap { $0.isEmpty ? nil : $0 }
    config.tty = body.Tty ?? false
    config.interactive = body.OpenStdin ?? false
    config.labels = body.Labels ?? [:]
    config.stopSignal = body.StopSignal
    let host = body.HostConfig
    config.autoRemove = host?.AutoRemove ?? false
    config.privileged = host?.Privileged ?? false
    config.capAdd = host?.CapAdd ?? []
    config.capDrop = host?.CapDrop ?? []
    config.memory = (host?.Memory ?? 0) > 0 ? host?.Memory : nil
    config.readOnly = host?.ReadonlyRootfs ?? false
    config.initProcess = host?.Init ?? false
    // Docker's default driver, which docker's clients expect to read back.
    let driver = host?.LogConfig?.Type.flatMap { $0.isEmpty ? nil : $0 } ?? "json-file"
    guard ["json-file", "k8s-file", "none", "passthrough"].contains(driver) else {
      throw BerthError(
        .invalidArgument, "log driver \(driver) is not supported",
        hint: "use json-file, k8s-file or none")
    }
    config.logDriver = driver
    if let restart = host?.RestartPolicy?.Name, !restart.isEmpty {
      var policy = try RestartPolicy(parsing: restart)
      policy.maxRetries = host?.RestartPolicy?.MaximumRetryCount ?? 0
      config.restart = policy
    }
    for bind in host?.Binds ?? [] {
      let parts = bind.split(separator: ":").map(String.init)
      guard parts.count >= 2 else {
        throw BerthError(.invalidArgument, "invalid bind \(bind)", hint: "use SOURCE:DEST[:ro]")
      }
      var mount = MountRequest(
        kind: parts[0].hasPrefix("/") ? .bind : .volume, source: parts[0], destination: parts[1])
      mount.readOnly = parts.count > 2 && parts[2].split(separator: ",").contains("ro")
      config.mounts.append(mount)
    }
    var network = NetworkFlags()
    switch host?.NetworkMode ?? "default" {
    case "", "default", "bridge": break
    case let mode: network.networks = [mode]
    }
    try network.apply(to: &config, rootless: engine.rootless)
    let container = try engine.createContainer(
      name: request.query["name"].flatMap { $0.isEmpty ? nil : $0 }, image: image,
      imageName: imageName, config: config)
    struct Created: Encodable {
      var Id: String
      var Warnings: [String] = []
    }
    return .json(.created, Router.json(Created(Id: container.id)))
  }

  /// The CLI's inspect shape, with docker's `/name` and `sha256:` image id.
  static func inspect(_ reference: String, _ state: ServiceState) throws -> APIResponse {
    var inspected = try InspectedContainer.make(try state.engine(), reference)
    inspected.name = "/" + inspected.name
    inspected.image = "sha256:" + inspected.image
    return .json(.ok, Router.dockerJSON(inspected))
  }

  /// Starts the container, handing its first-byte attach connection to a
  /// client that attached before the start (as `docker run` does).
  static func start(_ reference: String, _ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    let id = try engine.lookup(reference).id
    let waiting = state.takePendingAttaches(id)
    let outcome = try engine.startContainer(id, attach: !waiting.isEmpty)
    if let socket = outcome.attach {
      waiting.first?.connect(socket: socket)
      for other in waiting.dropFirst() {
        if let (_, extra) = try? engine.attachConnection(id) { other.connect(socket: extra) }
      }
    }
    return .empty(.noContent)
  }

  static func attach(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let container = try engine.refresh(try engine.lookup(reference).id)
    let config = try container.decodedConfig()
    let stream = AttachStream(
      containerID: container.id, tty: config.tty, stdin: request.flag("stdin"),
      stdout: request.flag("stdout"), stderr: request.flag("stderr"), state: state)
    if container.state == .running {
      let (_, socket) = try engine.attachConnection(container.id)
      stream.connect(socket: socket)
    } else {
      state.addPendingAttach(container.id, stream)
    }
    return .hijack(stream)
  }

  static func wait(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let first = try engine.lookup(reference)
    let condition = request.query["condition"] ?? "not-running"
    guard ["not-running", "next-exit", "removed"].contains(condition) else {
      throw BerthError(
        .invalidArgument, "invalid condition \(condition)",
        hint: "use not-running, next-exit or removed")
    }
    struct Result: Encodable {
      var StatusCode: Int32
    }
    return .deferred(.ok, contentType: "application/json") {
      Router.json(Result(StatusCode: waitFor(first, condition: condition, state: state)))
    }
  }

  /// Polls until the condition holds; the exit code an attach saw wins
  /// (a --rm container's record is gone with it).
  static func waitFor(_ first: Container, condition: String, state: ServiceState) -> Int32 {
    guard let engine = try? state.engine() else { return 125 }
    var last = first
    while true {
      guard let current = try? engine.refresh(first.id) else {
        return state.exitCode(first.id) ?? last.exitCode ?? 0
      }
      last = current
      let stopped = current.state == .exited || current.state == .created
      switch condition {
      case "not-running" where stopped:
        return state.exitCode(first.id) ?? current.exitCode ?? 0
      case "next-exit" where current.state == .exited && current.finishedAt != first.finishedAt:
        return state.exitCode(first.id) ?? current.exitCode ?? 0
      default: break
      }
      usleep(20_000)
    }
  }

  /// Logs in multiplexed frames (raw with a tty); with follow=1 the
  /// response stays open and new lines follow until the container stops.
  static func logs(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let container = try engine.lookup(reference)
    let config = try container.decodedConfig()
    let since = request.query["since"].flatMap(Int64.init) ?? 0
    let tail = request.query["tail"].flatMap(Int.init)
    let wantOut = request.flag("stdout")
    let wantErr = request.flag("stderr")
    let timestamps = request.flag("timestamps")
    let type =
      config.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
    @Sendable func encode(_ lines: [LogLine]) -> [UInt8] {
      var out: [UInt8] = []
      for line in lines
      where (line.stream == "stdout" && wantOut) || (line.stream == "stderr" && wantErr) {
        if since > 0, (LogParser.nanoseconds(rfc3339: line.time) ?? 0) < since * 1_000_000_000 {
          continue
        }
        var payload = timestamps ? Array((line.time + " ").utf8) : []
        payload += line.text
        if line.complete { payload.append(0x0A) }
        if !config.tty {
          out += [line.stream == "stderr" ? 2 : 1, 0, 0, 0]
          withUnsafeBytes(of: UInt32(payload.count).bigEndian) { out += $0 }
        }
        out += payload
      }
      return out
    }
    var lines = try engine.logLines(container.id)
    if let tail, tail >= 0 { lines = Array(lines.suffix(tail)) }
    guard request.flag("follow") else {
      return .body(.ok, encode(lines), contentType: type)
    }
    let first = encode(lines)
    let alreadySent = try engine.logLines(container.id).count
    let id = container.id
    return .streaming(.ok, contentType: type) { emit in
      if !first.isEmpty { emit(first) }
      var seen = alreadySent
      guard let engine = try? state.engine() else { return }
      while true {
        let running = (try? engine.refresh(id))?.state == .running
        let all = (try? engine.logLines(id)) ?? []
        if all.count > seen {
          emit(encode(Array(all[seen...])))
          seen = all.count
        }
        if !running { return }
        usleep(100_000)
      }
    }
  }
}
