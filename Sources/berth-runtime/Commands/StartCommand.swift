import ArgumentParser
import BerthRuntime
import BerthSystem

struct StartCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "start", abstract: "Start the process of a created container.")
  @Argument(help: "Container id.") var id: String

  func run() { Self.execute(id: id) }

  static func execute(id: String) {
    perform { runtime throws(BerthError) in try runtime.start(id) }
  }
}
