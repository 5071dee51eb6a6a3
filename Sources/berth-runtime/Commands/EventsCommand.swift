import ArgumentParser
import BerthRuntime
import BerthSystem
import Glibc

/// One line of `events`, as runc prints it.
struct Event: Encodable {
  var type: String
  var id: String
  var data: CgroupStats?
}

struct EventsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "events",
    abstract: "Print resource usage of a container as JSON, once or every interval.")
  @Flag(help: "Print the statistics once and exit.") var stats = false
  @Option(help: "Interval between statistics, e.g. 5s or 500ms.") var interval: String = "5s"
  @Argument(help: "Container id.") var id: String

  func run() {
    let period = perform { _ throws(BerthError) in try parseInterval(interval) }
    while true {
      let data = perform { runtime throws(BerthError) in
        let state = try runtime.state(id)
        guard state.status != .stopped else {
          throw BerthError(.invalidState, "container \"\(id)\" is stopped")
        }
        return try runtime.stats(id)
      }
      printJSON(Event(type: "stats", id: id, data: data), pretty: false)
      if stats { return }
      usleep(period)
    }
  }

  func parseInterval(_ text: String) throws(BerthError) -> UInt32 {
    let units: [(String, Double)] = [("ms", 1000), ("s", 1_000_000), ("m", 60_000_000)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
      if let value = Double(text.dropLast(suffix.count)), value > 0 { return UInt32(value * scale) }
    }
    throw BerthError(
      .invalidArgument, "invalid --interval \"\(text)\"", hint: "use a duration such as 5s or 500ms"
    )
  }
}
