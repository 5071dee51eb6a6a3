import ArgumentParser
import BerthEngine
import BerthSystem
import Glibc

struct Logs: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "logs", abstract: "Print a container's log."))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Follow the log until the container stops.") var follow = false
  @Option(help: "Only lines since this time (RFC 3339, Unix time, or a duration such as 10m).")
  var since: String?
  @Option(help: "Only lines until this time.") var until: String?
  @Option(help: "Only the last N lines (-1: all).") var tail: Int = -1
  @Flag(name: .shortAndLong, help: "Show timestamps.") var timestamps = false
  @Argument(help: "Containers.") var containers: [String]

  func run() throws {
    let engine = try global.engine()
    var options = LogOptions()
    options.follow = follow
    options.since = try since.map(LogParser.parseTime)
    options.until = try until.map(LogParser.parseTime)
    options.tail = tail >= 0 ? tail : nil
    options.timestamps = timestamps
    try forEach(containers) { name in try engine.printLogs(name, options: options) }
  }
}

struct Exec: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "exec",
      abstract: "Run a process in a running container.", helpNames: [.long]))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Keep stdin open.") var interactive = false
  @Flag(name: .shortAndLong, help: "Allocate a pseudo-terminal.") var tty = false
  @Flag(name: .shortAndLong, help: "Run in the background.") var detach = false
  @Option(name: .shortAndLong, help: "Set an environment variable.") var env: [String] = []
  @Option(name: .shortAndLong, help: "User (name or uid, optionally :group).") var user: String?
  @Option(name: [.short, .customLong("workdir")], help: "Working directory.") var workdir: String?
  @Flag(help: "Give the process all capabilities.") var privileged = false
  @Argument(parsing: .captureForPassthrough, help: "CONTAINER COMMAND [ARG...]") var arguments:
    [String] = []

  func run() throws {
    if printsHelp(arguments) { return }
    guard arguments.count >= 2 else {
      throw BerthError(
        .invalidArgument, "exec needs a container and a command", hint: "e.g. berth exec NAME ps")
    }
    let engine = try global.engine()
    var request = ExecRequest(command: Array(arguments.dropFirst()))
    request.env = env
    request.user = user
    request.workingDir = workdir
    request.tty = tty
    request.detach = detach
    request.privileged = privileged
    let code = try engine.exec(arguments[0], request)
    Glibc.exit(code)
  }
}
