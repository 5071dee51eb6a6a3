import BerthRuntime
import Glibc

/// The verbs of every container's life (create, start, run, state, kill,
/// delete, and exec, which health checks repeat), parsed by hand.
/// swift-argument-parser builds its command tree by reflection on each
/// call, about 1.4 ms here: as long as the whole of `state`, and paid on
/// every container start and stop by podman and conmon. Only a command line in the plain forms is taken here
/// (long flags with a separate or `=` value, the documented short flags, the
/// expected number of arguments); anything else, --help included, is left
/// to swift-argument-parser, which parses it again and reports problems its
/// usual way. Each verb then runs the same `execute` as its ParsableCommand.
enum HotPath {
  /// One verb's flags, each spelling mapped to its long name.
  struct Grammar {
    var options: [String: String] = [:]
    var flags: [String: String] = [:]
    var arguments: ClosedRange<Int> = 1...1
    /// exec: after the id, everything is the command, flags included.
    var commandAfterID = false
  }

  struct Parsed {
    /// The last value of each option, and all of them in order.
    var options: [String: String] = [:]
    var lists: [String: [String]] = [:]
    var flags: Set<String> = []
    var arguments: [String] = []
  }

  static let createOptions = [
    "--bundle": "--bundle", "-b": "--bundle", "--console-socket": "--console-socket",
    "--pid-file": "--pid-file", "--preserve-fds": "--preserve-fds",
  ]
  static let createFlags = ["--no-pivot": "--no-pivot", "--no-new-keyring": "--no-new-keyring"]

  static let grammars: [String: Grammar] = [
    "create": Grammar(
      options: createOptions,
      flags: createFlags.merging(["--detach": "--detach", "-d": "--detach"]) { a, _ in a }),
    "run": Grammar(
      options: createOptions,
      flags: createFlags.merging(["--detach": "--detach", "-d": "--detach", "--keep": "--keep"]) {
        a, _ in a
      }),
    "start": Grammar(),
    "state": Grammar(),
    "delete": Grammar(flags: ["--force": "--force", "-f": "--force"]),
    "kill": Grammar(flags: ["--all": "--all", "-a": "--all"], arguments: 1...2),
    "exec": Grammar(
      options: [
        "--process": "--process", "-p": "--process", "--cwd": "--cwd", "--env": "--env",
        "-e": "--env", "--user": "--user", "-u": "--user", "--additional-gids": "--additional-gids",
        "-g": "--additional-gids", "--cap": "--cap", "-c": "--cap", "--pid-file": "--pid-file",
        "--console-socket": "--console-socket", "--preserve-fds": "--preserve-fds",
        "--apparmor": "--apparmor", "--process-label": "--process-label",
      ],
      flags: [
        "--tty": "--tty", "-t": "--tty", "--detach": "--detach", "-d": "--detach",
        "--no-new-privs": "--no-new-privs", "--ignore-paused": "--ignore-paused",
      ],
      arguments: 1...Int.max, commandAfterID: true),
  ]

  /// Parses `arguments` by `grammar`, or nil for anything not plain.
  static func parse(_ arguments: ArraySlice<String>, _ grammar: Grammar) -> Parsed? {
    var parsed = Parsed()
    var index = arguments.startIndex
    while index < arguments.endIndex {
      let argument = arguments[index]
      index += 1
      guard argument.hasPrefix("-") else {
        parsed.arguments.append(argument)
        if grammar.commandAfterID {
          // A command that starts with a dash is left to the full parser.
          guard arguments[index...].first?.hasPrefix("-") != true else { return nil }
          parsed.arguments += arguments[index...]
          break
        }
        continue
      }
      var name = argument
      var value: String? = nil
      if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        name = String(argument[..<equals])
        value = String(argument[argument.index(after: equals)...])
      }
      if value == nil, let flag = grammar.flags[name] {
        parsed.flags.insert(flag)
        continue
      }
      guard let option = grammar.options[name] else { return nil }
      if value == nil {
        guard index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return nil }
        value = arguments[index]
        index += 1
      }
      parsed.options[option] = value
      parsed.lists[option, default: []].append(value!)
    }
    return grammar.arguments.contains(parsed.arguments.count) ? parsed : nil
  }

  /// Runs the verb and exits when the command line is one of these plain
  /// forms; returns otherwise.
  static func run(_ commandLine: [String]) {
    guard let verb = commandLine.first, let grammar = grammars[verb],
      let parsed = parse(commandLine.dropFirst(), grammar)
    else { return }
    let id = parsed.arguments[0]
    switch verb {
    case "create", "run":
      var options = CreateOptions(id: id, bundle: parsed.options["--bundle"] ?? ".")
      options.consoleSocket = parsed.options["--console-socket"]
      options.pidFile = parsed.options["--pid-file"]
      options.noPivot = parsed.flags.contains("--no-pivot")
      options.noNewKeyring = parsed.flags.contains("--no-new-keyring")
      if let count = parsed.options["--preserve-fds"] {
        guard let count = Int(count) else { return }
        options.preserveFDs = count
      }
      if verb == "create" {
        CreateCommand.execute(options)
      } else {
        RunCommand.execute(
          options, detach: parsed.flags.contains("--detach"), keep: parsed.flags.contains("--keep"))
      }
    case "start": StartCommand.execute(id: id)
    case "state": StateCommand.execute(id: id)
    case "delete": DeleteCommand.execute(id: id, force: parsed.flags.contains("--force"))
    case "kill":
      let signal = parsed.arguments.count > 1 ? parsed.arguments[1] : "TERM"
      KillCommand.execute(id: id, signal: signal, all: parsed.flags.contains("--all"))
    case "exec":
      var request = ExecRequest(id: id, command: Array(parsed.arguments.dropFirst()))
      request.processFile = parsed.options["--process"]
      request.tty = parsed.flags.contains("--tty")
      request.cwd = parsed.options["--cwd"]
      request.env = parsed.lists["--env"] ?? []
      request.user = parsed.options["--user"]
      request.capabilities = parsed.lists["--cap"] ?? []
      request.detach = parsed.flags.contains("--detach")
      request.pidFile = parsed.options["--pid-file"]
      request.consoleSocket = parsed.options["--console-socket"]
      request.noNewPrivileges = parsed.flags.contains("--no-new-privs")
      for gid in parsed.lists["--additional-gids"] ?? [] {
        guard let gid = UInt32(gid) else { return }
        request.additionalGids.append(gid)
      }
      if let count = parsed.options["--preserve-fds"] {
        guard let count = Int(count) else { return }
        request.preserveFDs = count
      }
      request.execute()
    default: return
    }
    exit(0)
  }
}
