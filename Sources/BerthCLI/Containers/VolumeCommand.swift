import ArgumentParser
import BerthEngine
import BerthSystem
import Foundation

struct VolumeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "volume", abstract: "Manage volumes.",
    subcommands: [
      VolumeCreate.self, VolumeList.self, VolumeInspect.self, VolumeRemove.self, VolumePrune.self,
      VolumeExists.self,
    ])
}

struct VolumeCreate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create", abstract: "Create a volume.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Volume driver (local).") var driver = "local"
  @Option(name: [.short, .customLong("label")], help: "Label KEY=VALUE.") var label: [String] = []
  @Option(name: [.short, .customLong("opt")], help: "Driver option: o=, type=, device=.") var opt:
    [String] = []
  @Flag(help: "Succeed if the volume exists.") var ignore = false
  @Argument(help: "Name (random when omitted).") var name: String?

  func run() throws {
    let volume = try global.engine().createVolume(
      name: name, driver: driver, labels: try keyValues(label, what: "label"),
      options: try keyValues(opt, what: "option"), ignoreExisting: ignore)
    print(volume.name)
  }
}

struct VolumeList: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls", abstract: "List volumes.", aliases: ["list"])
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Print only names.") var quiet = false
  @Option(help: "table (default), json or a Go template.") var format = "table"
  @Option(name: .shortAndLong, help: "Filter: name=, label=, dangling=true.") var filter: [String] =
    []

  func run() throws {
    let engine = try global.engine()
    var volumes = try engine.volumes()
    for item in filter {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else {
        throw BerthError(.invalidArgument, "invalid filter \"\(item)\"")
      }
      switch parts[0] {
      case "name": volumes = volumes.filter { $0.name.contains(parts[1]) }
      case "label": volumes = volumes.filter { $0.labelMap.satisfies(labelFilter: parts[1]) }
      case "dangling":
        volumes = try volumes.filter {
          try engine.volumeUsers($0.name).isEmpty == (parts[1] == "true")
        }
      default:
        throw BerthError(
          .invalidArgument, "invalid filter \"\(item)\"", hint: "use name=, label= or dangling=")
      }
    }
    if quiet {
      for volume in volumes { print(volume.name) }
      return
    }
    if format == "json" { return try printJSON(volumes.map(InspectedVolume.init)) }
    let rows = volumes.map {
      [
        "Driver": $0.driver, "Name": $0.name, "Mountpoint": $0.mountpoint, "CreatedAt": $0.created,
        "Scope": "local",
      ]
    }
    try printTemplate(
      format == "table" ? "table {{.Driver}}\\t{{.Name}}" : format, rows,
      headers: ["Name": "VOLUME NAME"])
  }
}

struct VolumeInspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Show details of volumes.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Go template; JSON by default.") var format: String?
  @Argument(help: "Volumes.") var names: [String]

  func run() throws {
    let engine = try global.engine()
    try printInspected(try names.map { InspectedVolume(try engine.volume($0)) }, format: format)
  }
}

struct VolumeRemove: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rm", abstract: "Remove volumes.", aliases: ["remove"])
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Remove the containers using them first.") var force = false
  @Flag(name: .shortAndLong, help: "Remove all volumes.") var all = false
  @Argument(help: "Volumes.") var names: [String] = []

  func run() throws {
    let engine = try global.engine()
    let targets = all ? try engine.volumes().map(\.name) : names
    try forEach(targets) { name in
      try engine.removeVolume(name, force: force)
      print(name)
    }
  }
}

struct VolumePrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove unused volumes.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Do not ask (berth never asks).") var force = false

  func run() throws {
    for name in try global.engine().pruneVolumes() { print(name) }
  }
}

struct VolumeExists: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exists", abstract: "Exit 0 if the volume exists, 1 if not.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Volume.") var name: String

  func run() throws {
    if (try? global.engine().volume(name)) == nil { throw ExitCode(1) }
  }
}

struct ContainerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "container", abstract: "Manage containers.",
    subcommands: [
      Run.self, Create.self, Start.self, Stop.self, Restart.self, Kill.self, Rm.self, Ps.self,
      Logs.self,
      Exec.self, ContainerInspect.self, Wait.self, Attach.self, Pause.self, Unpause.self,
      Rename.self,
      ContainerPrune.self, ContainerExists.self, Top.self, Stats.self, Port.self, Diff.self,
      Export.self, Commit.self, Cp.self, ContainerCleanup.self,
    ])
}

struct ContainerPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove all stopped containers.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Do not ask (berth never asks).") var force = false

  func run() throws {
    let engine = try global.engine()
    for container in try engine.containers()
    where container.state == .exited || container.state == .created {
      _ = try engine.removeContainer(container.id, force: false, volumes: false)
      print(container.id)
    }
  }
}

struct ContainerExists: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exists", abstract: "Exit 0 if the container exists, 1 if not.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Container.") var name: String

  func run() throws {
    if (try? global.engine().lookup(name)) == nil { throw ExitCode(1) }
  }
}
