// `ps`: podman's columns, filters and formats.
import ArgumentParser
import BerthEngine
import BerthOCI
import BerthSystem
import Foundation

struct Ps: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "ps", abstract: "List containers.", aliases: ["list", "ls"]))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Show all containers (default: running only).") var all = false
  @Flag(name: .shortAndLong, help: "Print only the ids.") var quiet = false
  @Option(name: .customShort("n"), help: "Show the N most recently created containers.") var last:
    Int?
  @Flag(name: .shortAndLong, help: "Show the most recently created container.") var latest = false
  @Option(name: .shortAndLong, help: "Filter: name=, status=, label=, ancestor=, id=.") var filter:
    [String] = []
  @Option(help: "Output format: table (default), json, or a Go template such as {{.Names}}.")
  var format: String = "table"
  @Flag(name: .customLong("no-trunc"), help: "Do not truncate ids and commands.") var noTrunc =
    false

  func run() throws {
    let engine = try global.engine()
    var containers = try engine.containers()
    let filters = try filter.map { item -> (String, String) in
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2,
        ["name", "status", "label", "ancestor", "id", "exited"].contains(parts[0])
      else {
        throw BerthError(
          .invalidArgument, "invalid filter \"\(item)\"",
          hint: "use name=, status=, label=, ancestor=, id= or exited=")
      }
      return (parts[0], parts[1])
    }
    let showAll =
      all || last != nil || latest || filters.contains { $0.0 == "status" || $0.0 == "exited" }
    if !showAll { containers = containers.filter { $0.state == .running || $0.state == .paused } }
    containers = try containers.filter { container in
      try ContainerFilter.matches(container, filters)
    }
    if let last { containers = Array(containers.prefix(last)) }
    if latest { containers = Array(containers.prefix(1)) }
    if quiet {
      for container in containers { print(noTrunc ? container.id : container.shortID) }
      return
    }
    var images: [String: ImageConfig.Config] = [:]
    let published = try engine.allPublishedPorts()
    let rows = try containers.map { container in
      var row = try ContainerRow(container, engine: engine, images: &images)
      row.ports = published[container.id] ?? []
      return row
    }
    switch format {
    case "json":
      print(String(decoding: try JSONEncoder.docker.encode(rows.map(\.json)), as: UTF8.self))
    case "table":
      let table =
        "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.CreatedHuman}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"
      let names = ContainerRow.fieldsNamed(by: table)
      try printTemplate(
        table, rows.map { $0.fields(truncate: !noTrunc, names: names) },
        headers: ["CreatedHuman": "CREATED", "ID": "CONTAINER ID"])
    default:
      let names = ContainerRow.fieldsNamed(by: format)
      try printTemplate(format, rows.map { $0.fields(truncate: !noTrunc, names: names) })
    }
  }
}

enum ContainerFilter {
  static func matches(_ container: Container, _ filters: [(String, String)]) throws -> Bool {
    // Filters of one key are alternatives; different keys must all match.
    let grouped = Dictionary(grouping: filters, by: \.0)
    // Only a label filter needs the config (decoding it is most of a row's cost).
    let config = grouped["label"] == nil ? nil : try container.listing()
    for (key, values) in grouped {
      let ok = values.contains { _, value in
        switch key {
        case "name": return container.name.range(of: value, options: .regularExpression) != nil
        case "id": return container.id.hasPrefix(value)
        case "status": return ContainerRow.podmanState(container) == value
        case "exited": return container.state == .exited && "\(container.exitCode ?? 0)" == value
        case "ancestor":
          return container.imageName == value || container.imageID.contains(value)
            || container.imageName.hasSuffix("/" + value)
            || container.imageName.hasSuffix("/" + value + ":latest")
            || container.imageName.hasSuffix("/library/" + value + ":latest")
        case "label": return config?.labels.satisfies(labelFilter: value) == true
        default: return false
        }
      }
      if !ok { return false }
    }
    return true
  }
}

/// One container as ps prints it.
struct ContainerRow {
  var container: Container
  var config: ContainerListing
  var command: [String]
  var ports: [PublishedPort] = []
  var id: String { container.id }

  /// podman's PORTS column: 0.0.0.0:8080->80/tcp, comma-separated.
  var portsText: String {
    ports.map { port in
      "\(port.hostIP.isEmpty ? "0.0.0.0" : port.hostIP):\(port.hostPort)->\(port.containerPort)/\(port.protocol)"
    }.joined(separator: ", ")
  }

  init(_ container: Container, engine: Engine, images: inout [String: ImageConfig.Config]) throws {
    self.container = container
    self.config = try container.listing()
    self.command =
      (try? engine.containerCommand(
        container, entrypoint: config.entrypoint, command: config.command, images: &images)) ?? []
  }

  /// podman's state words: created, running, paused, exited.
  static func podmanState(_ container: Container) -> String { container.state.rawValue }

  var status: String { container.statusText() }

  /// Each field a template may name, and how it is computed.
  static let fieldMakers:
    [(name: String, make: @Sendable (ContainerRow, _ truncate: Bool) -> String)] = [
      ("ID", { row, truncate in truncate ? String(row.id.prefix(12)) : row.id }),
      ("Image", { row, _ in row.container.imageName }),
      ("ImageID", { row, _ in row.container.imageID }),
      ("Command", { row, truncate in row.commandText(truncate: truncate) }),
      ("CreatedHuman", { row, _ in row.createdAgo }),
      ("Created", { row, _ in goTime(row.container.created) }),
      ("CreatedAt", { row, _ in goTime(row.container.created) }),
      ("RunningFor", { row, _ in row.createdAgo }),
      ("Status", { row, _ in row.status }),
      ("State", { row, _ in podmanState(row.container) }),
      ("Names", { row, _ in row.container.name }),
      ("Ports", { row, _ in row.portsText }),
      ("Labels", { row, _ in goMap(row.config.labels) }),
      ("Pid", { row, _ in "\(row.container.pid)" }),
      ("ExitCode", { row, _ in "\(row.container.exitCode ?? 0)" }),
      ("Mounts", { row, _ in row.config.mountDestinations.joined(separator: ",") }),
      ("AutoRemove", { row, _ in "\(row.config.autoRemove)" }),
      ("Size", { _, _ in "" }),
      ("Networks", { _, _ in "" }),
    ]

  static let fieldNames = Set(fieldMakers.map(\.name))

  /// The fields `template` names, or nil (all of them) when it names one
  /// that is not a field, so that the error lists them all.
  static func fieldsNamed(by template: String) -> Set<String>? {
    var named: Set<String> = []
    var rest = Substring(template)
    while let dot = rest.firstIndex(of: ".") {
      rest = rest[rest.index(after: dot)...]
      let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
      if !name.isEmpty { named.insert(String(name)) }
    }
    return named.isSubset(of: fieldNames) ? named : nil
  }

  /// The fields a template shows; only those in `names` (all when nil) are
  /// computed: the times cost most, and the default table shows none.
  func fields(truncate: Bool, names: Set<String>?) -> [String: String] {
    var fields: [String: String] = [:]
    for (name, make) in Self.fieldMakers where names?.contains(name) ?? true {
      fields[name] = make(self, truncate)
    }
    return fields
  }

  func commandText(truncate: Bool) -> String {
    let text = command.joined(separator: " ")
    return truncate && text.count > 20 ? String(text.prefix(17)) + "..." : text
  }

  var createdAgo: String {
    humanDuration(Date().timeIntervalSince(parseRFC3339(container.created) ?? Date())) + " ago"
  }

  var json: PsJSON {
    PsJSON(
      autoRemove: config.autoRemove, command: command,
      created: Int64(parseRFC3339(container.created)?.timeIntervalSince1970 ?? 0),
      createdAt: createdAgo,
      exited: container.state == .exited,
      exitedAt: Int64(container.finishedAt.flatMap(parseRFC3339)?.timeIntervalSince1970 ?? 0),
      exitCode: container.exitCode ?? 0, id: container.id, image: container.imageName,
      imageID: String(container.imageID.split(separator: ":").last ?? ""),
      labels: config.labels.isEmpty ? nil : config.labels,
      mounts: config.mountDestinations, names: [container.name], pid: container.pid,
      startedAt: Int64(container.startedAt.flatMap(parseRFC3339)?.timeIntervalSince1970 ?? 0),
      state: container.state.rawValue, status: container.state == .running ? status : "")
  }
}

struct PsJSON: Encodable {
  var autoRemove: Bool
  var command: [String]
  var created: Int64
  var createdAt: String
  var exited: Bool
  var exitedAt: Int64
  var exitCode: Int32
  var id: String
  var image: String
  var imageID: String
  var labels: [String: String]?
  var mounts: [String]
  var names: [String]
  var pid: Int32
  var startedAt: Int64
  var state: String
  var status: String
}

/// A Go map as templates print it: map[a:b c:d].
func goMap(_ map: [String: String]) -> String {
  "map[" + map.keys.sorted().map { "\($0):\(map[$0]!)" }.joined(separator: " ") + "]"
}

/// An RFC 3339 time as Go's time.String prints it (podman's .Created).
func goTime(_ text: String) -> String {
  guard let nanos = LogParser.nanoseconds(rfc3339: text) else { return text }
  let seconds = Int(nanos / 1_000_000_000)
  let fraction = Int(nanos % 1_000_000_000)
  let day = Int(floor(Double(seconds) / 86400))
  let (year, month, dayOfMonth) = civilDate(daysSinceEpoch: day)
  let rest = seconds - day * 86400
  func pad(_ value: Int, _ width: Int = 2) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
  }
  var out =
    "\(year)-\(pad(month))-\(pad(dayOfMonth)) \(pad(rest / 3600)):\(pad(rest / 60 % 60)):\(pad(rest % 60))"
  if fraction > 0 {
    var digits = pad(fraction, 9)
    while digits.hasSuffix("0") { digits.removeLast() }
    out += "." + digits
  }
  return out + " +0000 UTC"
}

/// A template over rows, with header names overridden where podman's differ.
func printTemplate(_ format: String, _ rows: [[String: String]], headers: [String: String] = [:])
  throws
{
  do {
    try Template(format).print(rows, headers: headers)
  } catch let error as TemplateError {
    throw BerthError(.invalidArgument, error.message)
  }
}
