// `inspect`: containers (and images, volumes) as JSON in podman's shape,
// or through a Go template such as {{.State.Status}} or {{json .Config}}.
import ArgumentParser
import BerthEngine
import BerthMonitor
import BerthSystem
import Foundation

struct ContainerInspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect", abstract: "Show details of containers.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Go template, e.g. {{.State.Status}}; JSON by default.")
  var format: String?
  @Flag(name: .shortAndLong, help: "Inspect the latest container.") var latest = false
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    var names = containers
    if latest, let first = try engine.containers().first { names = [first.id] }
    let values = try names.map { try InspectedContainer.make(engine, $0) }
    try printInspected(values, format: format)
  }
}

/// `berth inspect`: containers first, then images, unless --type says.
struct GenericInspect: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "inspect", abstract: "Show details of containers, images or volumes."))
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Go template; JSON by default.") var format: String?
  @Option(name: .shortAndLong, help: "container, image, volume or all.") var type = "all"
  @Argument(help: "Names or ids.") var names: [String]

  func run() throws {
    guard ["all", "container", "image", "volume"].contains(type) else {
      throw BerthError(
        .invalidArgument, "invalid --type \"\(type)\"", hint: "use container, image, volume or all")
    }
    let engine = try global.engine()
    var values: [any Encodable] = []
    for name in names {
      if type == "all" || type == "container",
        let container = try? InspectedContainer.make(engine, name)
      {
        values.append(container)
      } else if type == "all" || type == "image", let image = try? inspectImage(engine.store, name)
      {
        values.append(image)
      } else if type == "all" || type == "volume", let volume = try? engine.volume(name) {
        values.append(InspectedVolume(volume))
      } else {
        throw BerthError(.notFound, "no such object: \"\(name)\"")
      }
    }
    try printInspected(values, format: format)
  }
}

func printInspected(_ values: [any Encodable], format: String?) throws {
  let encoder = JSONEncoder.docker
  if let format, format != "json" {
    let rows = try values.map { value in
      flatten(try JSONSerialization.jsonObject(with: try encoder.encode(AnyEncodable(value))))
    }
    try printTemplate(format, rows)
    return
  }
  let array = try values.map {
    try JSONSerialization.jsonObject(with: try encoder.encode(AnyEncodable($0)))
  }
  let data = try JSONSerialization.data(
    withJSONObject: array, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
  print(String(decoding: data, as: UTF8.self))
}

struct AnyEncodable: Encodable {
  let value: any Encodable
  init(_ value: any Encodable) { self.value = value }
  func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}

/// JSON → template fields: "A.B" for nested keys, Go's print forms for
/// values, and "json:A.B" for {{json .A.B}}.
func flatten(_ object: Any) -> [String: String] {
  var fields: [String: String] = [:]
  func goString(_ value: Any) -> String {
    switch value {
    case let string as String: return string
    case let number as NSNumber:
      if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
      return number.stringValue
    case let array as [Any]: return "[" + array.map(goString).joined(separator: " ") + "]"
    case let dict as [String: Any]:
      return "map["
        + dict.keys.sorted().map { "\($0):\(goString(dict[$0]!))" }.joined(separator: " ") + "]"
    case is NSNull: return "<nil>"
    default: return "\(value)"
    }
  }
  func jsonString(_ value: Any) -> String {
    if let data = try? JSONSerialization.data(
      withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    {
      return String(decoding: data, as: UTF8.self)
    }
    return "null"
  }
  func walk(_ value: Any, _ path: String) {
    if !path.isEmpty {
      fields[path] = goString(value)
      fields["json:" + path] = jsonString(value)
    }
    if let dict = value as? [String: Any] {
      for (key, child) in dict { walk(child, path.isEmpty ? key : path + "." + key) }
    }
  }
  walk(object, "")
  fields["json:"] = jsonString(object)
  return fields
}
