import ArgumentParser
import BerthImage
import Foundation

struct History: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history", abstract: "Show the history of an image.")

  @OptionGroup var global: GlobalOptions

  @Flag(name: .shortAndLong, help: "Print only ids.")
  var quiet = false

  @Flag(help: "Do not truncate output.")
  var noTrunc = false

  @Option(help: "Output format: table (default) or json.")
  var format: String = "table"

  @Argument(help: "Image by name or id.")
  var image: String

  func run() throws {
    let store = try global.store()
    let record = try store.resolveImage(image)
    let config = try store.config(of: record)
    let manifest = try store.manifest(of: record)
    // Layers are matched to non-empty history entries, newest first as podman prints.
    var layerSizes = manifest.layers.map(\.size)
    var entries: [HistoryEntry] = []
    for item in config.history ?? [] {
      let size = item.emptyLayer == true ? 0 : (layerSizes.isEmpty ? 0 : layerSizes.removeFirst())
      entries.append(
        HistoryEntry(
          id: "<missing>", created: item.created ?? "", createdBy: item.createdBy ?? "",
          size: size, comment: item.comment ?? ""))
    }
    if !entries.isEmpty { entries[entries.count - 1].id = record.id.encoded }
    entries.reverse()
    if quiet {
      for entry in entries { print(noTrunc ? entry.id : String(entry.id.prefix(12))) }
      return
    }
    if format == "json" {
      try printJSON(entries)
      return
    }
    var rows = [["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    for entry in entries {
      let by =
        noTrunc || entry.createdBy.count <= 45
        ? entry.createdBy : String(entry.createdBy.prefix(42)) + "..."
      rows.append([
        noTrunc ? entry.id : String(entry.id.prefix(12)), humanAge(entry.created), by,
        humanSize(entry.size), entry.comment,
      ])
    }
    printTable(rows)
  }
}

struct HistoryEntry: Encodable {
  var id: String
  var created: String
  var createdBy: String
  var size: Int64
  var comment: String
}
