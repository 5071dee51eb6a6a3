import ArgumentParser
import BerthRuntime
import BerthSystem

struct DeleteCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "delete", abstract: "Delete a stopped container and its resources.")
  @Flag(name: [.short, .long], help: "Kill the container first if it still runs.")
  var force = false
  @Argument(help: "Container id.") var id: String

  func run() { Self.execute(id: id, force: force) }

  static func execute(id: String, force: Bool) {
    perform { runtime throws(BerthError) in try runtime.delete(id, force: force) }
  }
}
