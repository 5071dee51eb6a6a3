import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem

enum OutputFormat: String, ExpressibleByArgument { case table, json }

struct ListCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "List the containers under --root.")
  @Option(name: [.short, .long], help: "table or json.") var format: OutputFormat = .table
  @Flag(name: [.short, .long], help: "Print ids only.") var quiet = false

  func run() {
    let states = perform { runtime throws(BerthError) in runtime.list() }
    if quiet {
      for state in states { print(state.id) }
    } else if format == .json {
      printJSON(states, pretty: false)
    } else {
      var rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]]
      rows += states.map {
        [$0.id, "\($0.pid)", $0.status.rawValue, $0.bundle, $0.created, $0.owner]
      }
      printTable(rows)
    }
  }
}

/// Columns padded to their widest cell, separated by spaces.
func printTable(_ rows: [[String]]) {
  guard let first = rows.first else { return }
  var widths = first.map(\.count)
  for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
  for row in rows {
    let cells = row.enumerated().map { i, cell in
      i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
    }
    print(cells.joined())
  }
}
