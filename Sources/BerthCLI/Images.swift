import ArgumentParser
import BerthImage
import BerthOCI
import BerthSystem
import Foundation

struct Images: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "images", abstract: "List images in local storage.")

  @OptionGroup var options: ListOptions

  func run() throws { try options.run() }
}

/// `berth image ls` (and `list`): the same as `berth images`.
struct ImageList: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ls", abstract: "List images in local storage.", aliases: ["list"])

  @OptionGroup var options: ListOptions

  func run() throws { try options.run() }
}

struct ListOptions: ParsableArguments {
  @OptionGroup var global: GlobalOptions

  @Flag(name: .shortAndLong, help: "Print only image ids.")
  var quiet = false

  @Flag(help: "Do not truncate ids.")
  var noTrunc = false

  @Option(help: "Output format: table (default), json, or a Go template such as {{.ID}}.")
  var format: String = "table"

  @Flag(name: .shortAndLong, help: "Also show intermediate images (build steps).")
  var all = false

  @Argument(help: "Only images matching this reference.")
  var filter: String?

  func run() throws {
    let store = try global.store()
    var images = try store.images().sorted { $0.added > $1.added }
    if !all { images.removeAll { $0.intermediate == true && $0.names.isEmpty } }
    if let filter {
      let wanted = try store.resolveImage(filter)
      images = images.filter { $0.id == wanted.id }
    }
    if quiet {
      var seen = Set<String>()
      for image in images where seen.insert(image.id.encoded).inserted {
        print(noTrunc ? image.id.description : image.id.short)
      }
      return
    }
    switch format {
    case "json":
      let entries = images.map { image in
        ImageSummary(
          id: image.id.encoded, names: image.names.isEmpty ? nil : image.names,
          digest: image.digests.first?.description ?? "", digests: image.digests.map(\.description),
          created: Int64(parseDate(image.created) ?? 0), createdAt: image.created ?? "",
          size: store.unpackedSize(of: image), dangling: image.names.isEmpty)
      }
      try printJSON(entries)
    case "table":
      var rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]
      for image in images {
        let id = noTrunc ? image.id.description : image.id.short
        let created = humanAge(image.created)
        let size = humanSize(store.unpackedSize(of: image))
        if image.names.isEmpty {
          rows.append(["<none>", "<none>", id, created, size])
        }
        for name in image.names {
          let reference = try? Reference(parsing: name, defaultTag: false)
          rows.append([
            reference?.repository ?? name, reference?.tag ?? "<none>", id, created, size,
          ])
        }
      }
      printTable(rows)
    default:
      var rows: [[String: String]] = []
      for image in images {
        // Read once per image (its config and layer records), not per name.
        let size = humanSize(store.unpackedSize(of: image))
        for name in image.names.isEmpty ? [""] : image.names {
          let reference = name.isEmpty ? nil : try? Reference(parsing: name, defaultTag: false)
          rows.append([
            "ID": noTrunc ? image.id.description : image.id.short, "Id": image.id.encoded,
            "Repository": reference?.repository ?? "<none>", "Tag": reference?.tag ?? "<none>",
            "Digest": image.manifest.description, "CreatedAt": image.created ?? "",
            "CreatedSince": humanAge(image.created),
            "Size": size,
            "Names": image.names.joined(separator: ","),
          ])
        }
      }
      do {
        try Template(format).print(rows)
      } catch let error as TemplateError {
        throw BerthError(.invalidArgument, error.message)
      }
    }
  }
}

/// The fields podman's `images --format json` prints that scripts use most.
struct ImageSummary: Encodable {
  var id: String
  var names: [String]?
  var digest: String
  var digests: [String]
  var created: Int64
  var createdAt: String
  var size: Int64
  var dangling: Bool

  enum CodingKeys: String, CodingKey {
    case id = "Id"
    case names = "Names"
    case digest = "Digest"
    case digests = "Digests"
    case created = "Created"
    case createdAt = "CreatedAt"
    case size = "Size"
    case dangling = "Dangling"
  }
}

/// `--format json`: indented, keys sorted, as podman prints.
func printJSON(_ value: some Encodable) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func printTable(_ rows: [[String]]) {
  guard let first = rows.first else { return }
  var widths = first.map(\.count)
  for row in rows {
    for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
  }
  for row in rows {
    let cells = row.enumerated().map { index, cell in
      index == row.count - 1
        ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
    }
    print(cells.joined())
  }
}

func parseDate(_ text: String?) -> Double? {
  guard let text else { return nil }
  if let date = try? Date(text, strategy: .iso8601) { return date.timeIntervalSince1970 }
  // Fractional seconds, as Go writes them.
  let trimmed = text.replacing(/\.\d+/, with: "")
  return (try? Date(trimmed, strategy: .iso8601))?.timeIntervalSince1970
}

func humanAge(_ text: String?) -> String {
  guard let seconds = parseDate(text) else { return "unknown" }
  let age = Date().timeIntervalSince1970 - seconds
  let units: [(Double, String)] = [
    (365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
    (3600, "hour"), (60, "minute"),
  ]
  for (size, name) in units where age >= size {
    let count = Int(age / size)
    return "\(count) \(name)\(count == 1 ? "" : "s") ago"
  }
  return "Less than a minute ago"
}

func humanSize(_ bytes: Int64) -> String {
  let value = Double(bytes)
  for (limit, unit) in [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")] where value >= limit {
    return String(format: "%.3g %@", value / limit, unit)
  }
  return "\(bytes) B"
}
