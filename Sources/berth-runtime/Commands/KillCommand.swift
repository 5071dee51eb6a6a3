import ArgumentParser
import BerthRuntime
import BerthSystem
import Glibc

struct KillCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kill", abstract: "Send a signal (default TERM) to a container's init.")
  @Flag(name: [.short, .long], help: "Signal every process in the container.")
  var all = false
  @Argument(help: "Container id.") var id: String
  @Argument(help: "Signal name (TERM, SIGKILL) or number.") var signal: String = "TERM"

  func run() { Self.execute(id: id, signal: signal, all: all) }

  static func execute(id: String, signal: String, all: Bool) {
    perform { runtime throws(BerthError) in
      try runtime.kill(id, signal: try Signal.parse(signal), all: all)
    }
  }
}
