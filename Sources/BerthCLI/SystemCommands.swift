// version, info, system df|prune|reset|info, events, healthcheck run,
// completion.
import ArgumentParser
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import Foundation
import Glibc

let berthVersion = "0.1.0"

struct Version: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Show berth's version.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "json or a Go template.") var format: String?

  func run() throws {
    let fields = [
      "Version": berthVersion, "APIVersion": berthVersion,
      "OsArch": "linux/\(Platform.host.architecture)",
      "GoVersion": "-", "BuiltTime": "-",
    ]
    if format == "json" { return try printJSON(["Client": fields]) }
    if let format {
      return try printTemplate(
        format, [fields.merging(fields.map { ("Client.\($0.key)", $0.value) }) { a, _ in a }])
    }
    print("Client:       Berth Engine")
    print("Version:      \(berthVersion)")
    print("OS/Arch:      linux/\(Platform.host.architecture)")
  }
}

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "info", abstract: "Show the host and the store.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "json or a Go template such as {{.Store.GraphRoot}}.")
  var format: String?

  func run() throws {
    let engine = try global.engine()
    let containers = try engine.containers()
    var uts = utsname()
    uname(&uts)
    let kernel = withUnsafeBytes(of: &uts.release) {
      String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
    }
    let cgroups =
      FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1"
    let info: [String: [String: String]] = [
      "host": [
        "arch": Platform.host.architecture, "os": "linux", "kernel": kernel,
        "cgroupVersion": cgroups,
        "cgroupManager": "cgroupfs", "ociRuntime": "berth (in process)",
        "rootless": "\(engine.rootless)",
        "security": "seccomp, capabilities, masked paths, no-new-privileges on request",
      ],
      "store": [
        "graphRoot": engine.root, "runRoot": engine.runRoot, "graphDriverName": "overlay",
        "imageStore": "\(try engine.store.images().count)", "containerStore": "\(containers.count)",
        "containersRunning": "\(containers.filter { $0.state == .running }.count)",
        "containersPaused": "\(containers.filter { $0.state == .paused }.count)",
        "containersStopped":
          "\(containers.filter { $0.state == .exited || $0.state == .created }.count)",
        "volumes": "\(try engine.volumes().count)",
      ],
      "version": ["version": berthVersion],
    ]
    if format == "json" { return try printJSON(info) }
    if let format {
      var fields: [String: String] = [:]
      for (section, values) in info {
        for (key, value) in values {
          fields[
            section.prefix(1).uppercased() + section.dropFirst() + "." + key.prefix(1).uppercased()
              + key.dropFirst()] = value
        }
      }
      return try printTemplate(format, [fields])
    }
    for section in info.keys.sorted() {
      print("\(section):")
      for key in info[section]!.keys.sorted() { print("  \(key): \(info[section]![key]!)") }
    }
  }
}

struct SystemCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "system", abstract: "Manage berth itself.",
    subcommands: [
      Info.self, SystemDf.self, SystemPrune.self, SystemReset.self, Events.self, Service.self,
    ])
}

struct SystemDf: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "df", abstract: "Show disk use.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "table (default), json or a Go template.") var format = "table"

  func run() throws {
    let usage = try global.engine().diskUsage()
    let images = usage.images
    let imageSize = images.reduce(Int64(0)) { $0 + $1.size }
    let freeImages = images.filter { !usage.imagesInUse.contains($0.id.description) }.reduce(
      Int64(0)
    ) { $0 + $1.size }
    let containers = usage.containers
    let stopped = containers.filter {
      $0.container.state != .running && $0.container.state != .paused
    }
    let volumes = usage.volumes
    let unusedVolumes = volumes.filter { $0.users == 0 }.reduce(Int64(0)) { $0 + $1.size }
    func row(_ type: String, _ total: Int, _ active: Int, _ size: Int64, _ reclaimable: Int64)
      -> [String: String]
    {
      let percent = size > 0 ? Int(Double(reclaimable) / Double(size) * 100) : 0
      return [
        "Type": type, "Total": "\(total)", "Active": "\(active)", "Size": humanSize(size),
        "Reclaimable": "\(humanSize(reclaimable)) (\(percent)%)",
      ]
    }
    let rows = [
      row(
        "Images", images.count,
        images.filter { usage.imagesInUse.contains($0.id.description) }
          .count, imageSize, freeImages),
      row(
        "Containers", containers.count, containers.count - stopped.count,
        containers.reduce(0) { $0 + $1.size }, stopped.reduce(0) { $0 + $1.size }),
      row(
        "Local Volumes", volumes.count, volumes.filter { $0.users > 0 }.count,
        volumes.reduce(0) { $0 + $1.size }, unusedVolumes),
    ]
    if format == "json" { return try printJSON(rows) }
    try printTemplate(
      format == "table"
        ? "table {{.Type}}\\t{{.Total}}\\t{{.Active}}\\t{{.Size}}\\t{{.Reclaimable}}" : format, rows
    )
  }
}

struct SystemPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune",
    abstract: "Remove stopped containers, dangling images (and with --volumes unused volumes).")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Remove all unused images, not only dangling ones.") var all =
    false
  @Flag(help: "Remove unused volumes too.") var volumes = false
  @Flag(name: .shortAndLong, help: "Do not ask (berth never asks).") var force = false

  func run() throws {
    let engine = try global.engine()
    print("Deleted Containers")
    for container in try engine.containers()
    where container.state == .exited || container.state == .created {
      _ = try engine.removeContainer(container.id, force: false, volumes: false)
      print(container.id)
    }
    print("Deleted Networks")
    for name in try engine.pruneNetworks() { print(name) }
    if volumes {
      print("Deleted Volumes")
      for name in try engine.pruneVolumes() { print(name) }
    }
    print("Deleted Images")
    for id in try engine.store.prune(all: all) { print(id.encoded) }
  }
}

struct SystemReset: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reset", abstract: "Remove all containers, volumes, networks and images.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Do not ask (berth never asks).") var force = false

  func run() throws {
    let engine = try global.engine()
    for container in try engine.containers() {
      _ = try engine.removeContainer(container.id, force: true, volumes: true)
    }
    engine.sweepTrash()
    for volume in try engine.volumes() { try engine.removeVolume(volume.name, force: true) }
    // Bridges, firewall table and DNS responders go with the networks.
    for network in try engine.networks() { _ = try engine.removeNetwork(network.name, force: true) }
    for image in try engine.store.images() {
      _ = try engine.store.remove(image.id.encoded, force: true)
    }
    try engine.store.collectGarbage()
  }
}

struct Events: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "events",
    abstract: "Show events: container and volume changes.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "Only events since this time (RFC 3339, Unix time or a duration such as 10m).")
  var since: String?
  @Option(help: "Stop at this time.") var until: String?
  @Option(name: .shortAndLong, help: "Filter: type=, event=, container=.") var filter: [String] = []
  @Option(help: "json or a Go template.") var format: String?
  @Option(help: "Keep printing new events (default: true unless --until).") var stream: Bool?

  func run() throws {
    let engine = try global.engine()
    let sinceTime = try since.map(LogParser.parseTime)
    let untilTime = try until.map(LogParser.parseTime)
    let follow = stream ?? (until == nil)
    let filters = try filter.map { item -> (String, String) in
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, ["type", "event", "container", "volume"].contains(parts[0]) else {
        throw BerthError(
          .invalidArgument, "invalid filter \"\(item)\"",
          hint: "use type=, event=, container= or volume=")
      }
      return (parts[0], parts[1])
    }
    // Without --since, only what happens from now on, as podman streams.
    var last: Int64 =
      since == nil && follow ? (try engine.lastEventSeq()) : 0
    while true {
      for event in try engine.events(afterSeq: last, since: sinceTime) {
        last = event.seq
        if let untilTime, event.time > untilTime { return }
        let grouped = Dictionary(grouping: filters, by: \.0)
        let matches = grouped.allSatisfy { key, values in
          values.contains { _, value in
            switch key {
            case "type": return event.type == value
            case "event": return event.action == value
            default: return event.name == value || event.id.hasPrefix(value)
            }
          }
        }
        if matches { try printEvent(event) }
      }
      if !follow { return }
      if let untilTime, Int64(Date().timeIntervalSince1970 * 1e9) > untilTime { return }
      usleep(200_000)
    }
  }

  func printEvent(_ event: EngineEvent) throws {
    let time = Date(timeIntervalSince1970: Double(event.time) / 1e9)
    let attributes = event.attributeMap.merging(["name": event.name]) { a, _ in a }
    let fields: [String: String] = [
      "ID": event.id, "Name": event.name, "Status": event.action, "Type": event.type,
      "Time": goTime(
        rfc3339(seconds: event.time / 1_000_000_000, nanoseconds: Int(event.time % 1_000_000_000))),
      "Image": attributes["image"] ?? "",
    ]
    if format == "json" {
      struct JSONEvent: Encodable {
        var iD: String
        var image: String?
        var name: String
        var status: String
        var time: String
        var type: String
        var attributes: [String: String]
      }
      let encoder = JSONEncoder.docker
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      let value = JSONEvent(
        iD: event.id, image: attributes["image"], name: event.name, status: event.action,
        time: ISO8601DateFormatter().string(from: time), type: event.type, attributes: attributes)
      print(String(decoding: try encoder.encode(value), as: UTF8.self))
    } else if let format {
      try printTemplate(format, [fields])
    } else {
      let attributeText = attributes.keys.sorted().map { "\($0)=\(attributes[$0]!)" }.joined(
        separator: ", ")
      print("\(fields["Time"]!) \(event.type) \(event.action) \(event.id) (\(attributeText))")
    }
    fflush(nil)
  }
}

struct Healthcheck: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "healthcheck", abstract: "Run a container's health check.",
    subcommands: [HealthcheckRun.self])
}

struct HealthcheckRun: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run", abstract: "Run the health check once: exit 0 healthy, 1 unhealthy.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Container.") var container: String

  func run() throws {
    let engine = try global.engine()
    let record = try engine.lookup(container)
    guard let command = try engine.healthCheck(record)?.command else {
      throw BerthError(.invalidState, "container \(record.name) has no health check")
    }
    var request = ExecRequest(command: command)
    request.quiet = true
    if try engine.exec(container, request) != 0 {
      print("unhealthy")
      throw ExitCode(1)
    }
  }
}

struct Completion: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "completion",
    abstract: "Print a shell completion script (bash, zsh or fish).")
  @Argument(help: "bash, zsh or fish.") var shell: String

  func run() throws {
    guard let kind = CompletionShell(rawValue: shell) else {
      throw BerthError(
        .invalidArgument, "unknown shell \"\(shell)\"", hint: "use bash, zsh or fish")
    }
    print(Berth.completionScript(for: kind))
  }
}
