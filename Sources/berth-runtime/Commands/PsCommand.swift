import ArgumentParser
import BerthRuntime
import BerthSystem
import Glibc
import SystemPackage

struct PsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps", abstract: "List the processes of a container.")
  @Option(name: [.short, .long], help: "table or json.") var format: OutputFormat = .table
  @Argument(help: "Container id.") var id: String
  @Argument(parsing: .captureForPassthrough, help: "Options passed to ps(1) (table format).")
  var psArguments: [String] = []

  func run() {
    let pids = perform { runtime throws(BerthError) in try runtime.pids(id) }
    if format == .json {
      printJSON(pids, pretty: false)
      return
    }
    // As runc: run ps(1) and keep its header plus the container's lines.
    let args = psArguments.isEmpty ? ["-ef"] : psArguments
    let output = perform { _ throws(BerthError) in try captureOutput(["ps"] + args) }
    let lines = output.split(separator: "\n")
    guard let header = lines.first else { return }
    let pidColumn = header.split(separator: " ").firstIndex(of: "PID")
    print(header)
    let wanted = Set(pids.map(String.init))
    for line in lines.dropFirst() {
      let fields = line.split(separator: " ")
      if let pidColumn, pidColumn < fields.count, wanted.contains(String(fields[pidColumn])) {
        print(line)
      }
    }
  }
}

/// Runs a host command (looked up in PATH) and returns its standard output.
func captureOutput(_ args: [String]) throws(BerthError) -> String {
  let path = try lookupExecutable(args[0], env: currentEnvironment()).get()
  return try ChildProcess.capture(args, path: path).output
}
