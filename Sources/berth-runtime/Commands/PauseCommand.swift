import ArgumentParser
import BerthRuntime
import BerthSystem

struct PauseCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pause", abstract: "Freeze every process of a container.")
  @Argument(help: "Container id.") var id: String

  func run() {
    perform { runtime throws(BerthError) in try runtime.pause(id) }
  }
}

struct ResumeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "resume", abstract: "Thaw a paused container.")
  @Argument(help: "Container id.") var id: String

  func run() {
    perform { runtime throws(BerthError) in try runtime.resume(id) }
  }
}
