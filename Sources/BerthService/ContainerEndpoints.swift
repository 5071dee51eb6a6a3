// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// /containers: list, create (its body in ContainerCreate.swift), inspect,
// start, stop, kill, restart, wait, remove, attach, logs, resize.
import BerthEngine
import BerthImage
import BerthMonitor
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc
import NIOHTTP1

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
    case (.POST, 2, "resize"):
      let size = try request.terminalSize()
      try state.engine().resizeTerminal(path[0], rows: size.rows, columns: size.columns)
      return .empty(.ok)
    case (.GET, 3, "ws") where path[1] == "attach":
      throw BerthError(
        .unsupported, "attach over a websocket is not supported",
        hint: "use POST /containers/{id}/attach, the hijacked stream docker's CLI uses")
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
    var Ports: [Port]
    var Labels: [String: String]
    var HostConfig: [String: String]
    var NetworkSettings: Networks
    var Mounts: [MountPoint]
    /// Only in system/df.
    var SizeRw: Int64? = nil
    var SizeRootFs: Int64? = nil

    struct Port: Encodable {
      var IP: String?
      var PrivatePort: Int
      var PublicPort: Int?
      var `Type`: String
    }

    struct Networks: Encodable {
      var Networks: [String: Endpoint]
    }

    struct Endpoint: Encodable {
      var NetworkID: String
      var IPAddress: String
      var Gateway: String
      var MacAddress: String
    }

    struct MountPoint: Encodable {
      var `Type`: String
      var Name: String?
      var Source: String
      var Destination: String
      var RW: Bool
    }
  }

  static func unixTime(_ rfc3339: String?) -> Int64 {
    guard let rfc3339, let ns = LogParser.nanoseconds(rfc3339: rfc3339) else { return 0 }
    return ns / 1_000_000_000
  }

  static func list(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let filters = try Filters(
      request,
      allowed: [
        "id", "name", "label", "label!", "status", "ancestor", "network", "volume", "exited",
        "before", "since", "health",
      ])
    let engine = try state.engine()
    var containers = try engine.containers()
    // before= and since= name a container; the rest are created before or
    // after it (the list is newest first).
    // (The times' fractions have their trailing zeros dropped: compared as
    // numbers, not text.)
    func time(_ container: Container) -> Int64 {
      LogParser.nanoseconds(rfc3339: container.created) ?? 0
    }
    func created(_ key: String) throws -> Int64? {
      guard let reference = filters.values[key]?.first else { return nil }
      return time(try engine.lookup(reference))
    }
    if let before = try created("before") { containers = containers.filter { time($0) < before } }
    if let since = try created("since") { containers = containers.filter { time($0) > since } }
    // `docker ps -n N` / `-l`: the N created last, in every state.
    let limit = request.query["limit"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil }
    if !request.flag("all") && filters.values["status"] == nil && limit == nil {
      containers = containers.filter { $0.state == .running || $0.state == .paused }
    }
    var summaries: [Summary] = []
    let (allAttachments, allPorts) = try engine.allAttachments()
    var images: [String: ImageConfig.Config] = [:]
    for container in containers {
      let config = try? container.listing()
      let attachments = allAttachments[container.id] ?? []
      guard filters.matches("id", { container.id.hasPrefix($0) }),
        filters.matches("name", { container.name.contains($0.trimmingPrefix("/")) }),
        filters.matches("status", { $0 == container.state.rawValue }),
        filters.matches(
          "exited", { Int32($0) == container.exitCode && container.state == .exited }),
        filters.matches(
          "ancestor", { $0 == container.imageName || container.imageID.hasPrefix($0) }),
        filters.matches(
          "network",
          { name in
            attachments.contains {
              $0.0.name == NetworkEndpoints.networkName(name) || $0.0.id.hasPrefix(name)
            }
          }),
        filters.matches(
          "volume", { name in (config?.mounts ?? []).contains { $0.source == name } }),
        filters.matchesLabels(config?.labels ?? [:]),
        filters.matches("health", { $0 == (container.health ?? "none") })
      else { continue }
      let command = config.flatMap {
        try? engine.containerCommand(
          container, entrypoint: $0.entrypoint, command: $0.command, images: &images)
      }
      summaries.append(
        summary(
          container, config: config, command: command ?? [], attachments: attachments,
          ports: allPorts[container.id] ?? []))
      // Newest first, as the engine lists them.
      if let limit, summaries.count == limit { break }
    }
    return .json(.ok, Router.json(summaries))
  }

  static func summary(
    _ container: Container, config: ContainerListing?, command: [String],
    attachments: [(Network, Attachment)], ports: [PublishedPort]
  ) -> Summary {
    let ports = ports.map {
      Summary.Port(
        IP: $0.hostIP.isEmpty ? "0.0.0.0" : $0.hostIP, PrivatePort: $0.containerPort,
        PublicPort: $0.hostPort, Type: $0.protocol)
    }
    var networks: [String: Summary.Endpoint] = [:]
    for (network, attachment) in attachments {
      networks[network.name == Engine.defaultNetwork ? "bridge" : network.name] = Summary.Endpoint(
        NetworkID: network.id, IPAddress: attachment.ipv4 ?? "",
        Gateway: network.subnetList.first { !$0.isIPv6 }?.gateway ?? "",
        MacAddress: attachment.mac)
    }
    let mounts = (config?.mounts ?? []).map { mount in
      Summary.MountPoint(
        Type: mount.kind.rawValue, Name: mount.kind == .volume ? mount.source : nil,
        Source: mount.source, Destination: mount.destination, RW: !mount.readOnly)
    }
    let mode = config?.network ?? "none"
    return Summary(
      Id: container.id, Names: ["/" + container.name], Image: container.imageName,
      ImageID: container.imageID,
      Command: command.joined(separator: " "),
      Created: unixTime(container.created), State: container.state.rawValue,
      Status: container.statusText(pausedWord: "Paused"), Ports: ports,
      Labels: config?.labels ?? [:],
      HostConfig: ["NetworkMode": mode == "bridge" && !networks.isEmpty ? "default" : mode],
      NetworkSettings: Summary.Networks(Networks: networks), Mounts: mounts)
  }

  static func create(_ request: APIRequest, _ state: ServiceState) throws -> APIResponse {
    let body = try Router.decode(ContainerCreateBody.self, request.body)
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
    let config = try body.containerConfig(rootless: engine.rootless)
    // Docker makes a missing host directory of a `Binds` entry (`-v
    // /data:/data`, compose's `./data:/data`); a `Mounts` bind it refuses.
    // What is made here goes again if the create fails.
    var made: [String] = []
    do {
      for text in body.HostConfig?.Binds ?? [] {
        let mount = try ContainerCreateBody.bind(text)
        if mount.kind == .bind { made += try mkdirAll(mount.source) }
      }
    } catch {
      for dir in made.reversed() { rmdir(dir) }
      throw error
    }
    // docker run creates, attaches, waits, then starts: a start follows.
    Engine.startFollows(runRoot: engine.runRoot, networkNone: config.network == "none")
    let container: Container
    do {
      container = try engine.createContainer(
        name: request.query["name"].flatMap { $0.isEmpty ? nil : $0 }, image: image,
        imageName: imageName, config: config)
    } catch {
      for dir in made.reversed() { rmdir(dir) }
      throw error
    }
    struct Created: Encodable {
      var Id: String
      var Warnings: [String] = []
    }
    return .json(.created, Router.json(Created(Id: container.id)))
  }

  /// The CLI's inspect shape, with docker's `/name` and `sha256:` image id.
  static func inspect(_ reference: String, _ state: ServiceState) throws -> APIResponse {
    let engine = try state.engine()
    var inspected = try InspectedContainer.make(engine, reference)
    inspected.useDockerNames(engine)
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
    let outcome: StartOutcome
    do {
      outcome = try engine.startContainer(id, attach: !waiting.isEmpty)
    } catch  where error.code == .invalidState {
      // Already running: docker's 304, which its clients take as success.
      if let running = try? engine.refresh(id), running.state == .running {
        for stream in waiting {
          if let (_, socket) = try? engine.attachConnection(id) { stream.connect(socket: socket) }
        }
        return .empty(.notModified)
      }
      throw error
    } catch {
      // A container to remove when it exits goes when it cannot start, as
      // docker's AutoRemove and `berth run --rm` do: `docker run --rm`
      // waits for its removal after a failed start.
      if (try? engine.lookup(id).decodedConfig().autoRemove) == true {
        _ = try? engine.removeContainer(id, force: true, volumes: true)
      }
      throw error
    }
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
    // stream=0 (docker-py's attach() by default): nothing live; with
    // logs=1, what the container wrote so far. Answered, then closed.
    if !request.flag("stream") {
      let past =
        request.flag("logs")
        ? encodeLogs(
          try engine.logLines(container.id), tty: config.tty, stdout: request.flag("stdout"),
          stderr: request.flag("stderr")) : []
      return .hijack(ReplayStream(tty: config.tty, bytes: past))
    }
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
    let watch = ExitWatch(engine, id: first.id)
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
      watch.wait(milliseconds: 100)
    }
  }

  /// Log lines as docker sends them: in multiplexed frames (raw with a
  /// tty), of the streams asked for, between `since` and `until` (0: open).
  static func encodeLogs(
    _ lines: [LogLine], tty: Bool, stdout: Bool, stderr: Bool, timestamps: Bool = false,
    since: Int64 = 0, until: Int64 = 0
  ) -> [UInt8] {
    var out: [UInt8] = []
    for line in lines
    where (line.stream == "stdout" && stdout) || (line.stream == "stderr" && stderr) {
      let time = LogParser.nanoseconds(rfc3339: line.time) ?? 0
      if since > 0 && time < since || until > 0 && time > until { continue }
      var payload = timestamps ? Array((line.time + " ").utf8) : []
      payload += line.text
      if line.complete { payload.append(0x0A) }
      if !tty {
        out += [line.stream == "stderr" ? 2 : 1, 0, 0, 0]
        withUnsafeBytes(of: UInt32(payload.count).bigEndian) { out += $0 }
      }
      out += payload
    }
    return out
  }

  /// Logs in multiplexed frames (raw with a tty); with follow=1 the
  /// response stays open and new lines follow until the container stops.
  static func logs(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let engine = try state.engine()
    let container = try engine.lookup(reference)
    let config = try container.decodedConfig()
    // Unix seconds, with a fraction as the docker CLI sends them.
    let since = try request.query["since"].flatMap { try Filters.nanoseconds($0) } ?? 0
    let until = try request.query["until"].flatMap { try Filters.nanoseconds($0) } ?? 0
    let tail = request.query["tail"].flatMap(Int.init)
    let wantOut = request.flag("stdout")
    let wantErr = request.flag("stderr")
    guard wantOut || wantErr else {
      throw BerthError(
        .invalidArgument, "You must choose at least one stream",
        hint: "ask for stdout=1, stderr=1 or both")
    }
    let timestamps = request.flag("timestamps")
    let type =
      config.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream"
    let tty = config.tty
    @Sendable func encode(_ lines: [LogLine]) -> [UInt8] {
      encodeLogs(
        lines, tty: tty, stdout: wantOut, stderr: wantErr, timestamps: timestamps, since: since,
        until: until)
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
        if !running || !emit.isOpen { return }
        usleep(100_000)
      }
    }
  }
}
