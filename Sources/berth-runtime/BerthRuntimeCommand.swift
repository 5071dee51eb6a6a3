import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc

struct BerthRuntimeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "berth-runtime",
    abstract: "An OCI runtime: runs containers from bundles, with runc's command line.",
    discussion: """
      Global flags, before the command: --root DIR, --log FILE, --log-format text|json, \
      --debug, --systemd-cgroup, --rootless true|false|auto.
      """,
    version: "berth-runtime version 0.1.0\nspec: \(ociRuntimeSpecVersion)",
    subcommands: [
      CreateCommand.self, StartCommand.self, RunCommand.self, StateCommand.self,
      KillCommand.self, DeleteCommand.self, ListCommand.self, ExecCommand.self, PsCommand.self,
      SpecCommand.self, FeaturesCommand.self, PauseCommand.self, ResumeCommand.self,
      UpdateCommand.self, EventsCommand.self,
    ]
  )
}

/// Reports an error the way runc does: on stderr and in the --log file
/// (as JSON with --log-format json), then exits 1.
func fail(_ error: any Error) -> Never {
  let message = (error as? BerthError)?.description ?? "\(error)"
  if logToFile { runtimeLogger.error("\(message)") }
  let line = "berth-runtime: \(message)\n"
  _ = line.withCString { write(2, $0, strlen($0)) }
  Glibc.exit(1)
}

/// Runs a runtime operation, turning its error into runc's failure output.
func perform<T>(_ body: (Runtime) throws(BerthError) -> T) -> T {
  do {
    return try body(globals.runtime())
  } catch {
    fail(error)
  }
}

func printJSON<T: Encodable>(_ value: T, pretty: Bool = true) {
  let encoder = JSONEncoder()
  encoder.outputFormatting =
    pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.withoutEscapingSlashes]
  guard let data = try? encoder.encode(value) else {
    fail(BerthError(.internalError, "cannot encode JSON"))
  }
  print(String(decoding: data, as: UTF8.self))
}
