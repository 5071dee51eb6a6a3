import ArgumentParser
import BerthRuntime
import BerthSystem

struct StateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "state", abstract: "Print the state of a container as JSON.")
  @Argument(help: "Container id.") var id: String

  func run() { Self.execute(id: id) }

  static func execute(id: String) {
    printJSON(perform { runtime throws(BerthError) in try runtime.state(id) })
  }
}
