// `berth`: the daemonless engine's CLI. Each subcommand lives in its own file
// and stays thin: parse, call BerthImage, print. Engine errors exit with 125
// as podman's do.
import ArgumentParser
import BerthEngine
import BerthImage
import BerthSystem
import Glibc

/// The `berth` executable's entry point, on the main thread as an `@main`
/// type's would be: nothing here starts a thread the command does not ask for.
@MainActor public func berthMain() async {
  await Berth.main()
}

struct Berth: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "berth",
    abstract: "A daemonless container engine.",
    version: "berth version \(berthVersion)",
    subcommands: [
      Run.self, Create.self, Start.self, Stop.self, Restart.self, Kill.self, Rm.self, Ps.self,
      Logs.self, Exec.self, GenericInspect.self, Wait.self, Attach.self, Pause.self, Unpause.self,
      Rename.self, Top.self, Stats.self, Port.self, Diff.self, Export.self, Import.self,
      Commit.self,
      Cp.self, ContainerCommand.self, VolumeCommand.self, NetworkCommand.self,
      Version.self, Info.self, SystemCommand.self, Events.self, Healthcheck.self, Completion.self,
      Pull.self, Push.self, Images.self, Rmi.self, Tag.self, ImageCommand.self, History.self,
      Save.self, Load.self, Login.self, Logout.self, SnapshotCommand.self, Build.self,
      BuilderCommand.self,
      UnpackLayerHelper.self, RemoveTreeHelper.self, NetworkHostBridgeHelper.self,
    ]
  )

  @OptionGroup var global: GlobalOptions

  /// The verbs of a container's life, parsed without building the whole
  /// command tree: each first use of a type's protocol conformance scans
  /// every conformance record in the binary (NIO, crypto, GRDB...), and
  /// the full tree of sixty commands costs about 10 ms of such scans.
  static let directVerbs: [String: any ParsableCommand.Type] = [
    "run": Run.self, "create": Create.self, "start": Start.self, "stop": Stop.self, "rm": Rm.self,
    "ps": Ps.self, "exec": Exec.self, "logs": Logs.self, "kill": Kill.self, "wait": Wait.self,
    "inspect": GenericInspect.self,
  ]

  /// The command for `arguments`: a direct verb when the arguments are
  /// global options then one of `directVerbs`, else the full parse.
  static func parseCommand(_ arguments: [String]) throws -> any ParsableCommand {
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      if argument == "--root" || argument == "--runroot" {
        index += 2
      } else if argument.hasPrefix("--root=") || argument.hasPrefix("--runroot=") {
        index += 1
      } else {
        break
      }
    }
    guard index < arguments.count, let type = directVerbs[arguments[index]],
      !arguments.contains("--help")
    else {
      return try parseAsRoot(arguments)
    }
    var rest = arguments
    rest.remove(at: index)
    if type == Run.self || type == Create.self,
      let command = CreateHotPath.parse(rest, run: type == Run.self)
    {
      return command
    }
    return try type.parseAsRoot(rest)
  }

  @MainActor static func main() async {
    Trace.mark("berth: main")
    do {
      var command = try parseCommand(Array(CommandLine.arguments.dropFirst()))
      Trace.mark("berth: parsed")
      // A cast to the concrete type first: one to a protocol is looked up
      // in every conformance record of the binary on its first use.
      if let run = command as? Run {
        try await run.execute()
      } else if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch let error as BerthError {
      printError("Error: \(error)")
      Glibc.exit(125)
    } catch {
      let code = exitCode(for: error)
      if code == .success || error is ExitCode { exit(withError: error) }
      printError(fullMessage(for: error))
      Glibc.exit(125)
    }
  }
}

/// The configuration of a verb in `Berth.directVerbs`, which is parsed as
/// its own root. A super command name puts `berth` in its usage lines, and
/// it spares the parse swift-argument-parser's check for a completion-script
/// request: two more parsers built by reflection, about 2 ms of a `run`.
/// (`berth completion` prints the scripts.)
func directVerb(_ configuration: CommandConfiguration) -> CommandConfiguration {
  var configuration = configuration
  configuration._superCommandName = "berth"
  return configuration
}

extension ParsableCommand {
  /// `run`, `create` and `exec` capture their trailing arguments for the
  /// container's command, and swift-argument-parser's capture takes a
  /// `--help` along. Captured first, before any image or container, it
  /// asks for this verb's help, as in podman; after one, it is the
  /// container's.
  func printsHelp(_ captured: [String]) -> Bool {
    guard captured.first == "--help" else { return false }
    print(Self.helpMessage())
    return true
  }
}

/// Options every subcommand accepts, before or after its name.
struct GlobalOptions: ParsableArguments {
  @Option(help: "Storage root (default /var/lib/berth, or $XDG_DATA_HOME/berth rootless).")
  var root: String?

  @Option(help: "Run state root (default /run/berth, or $XDG_RUNTIME_DIR/berth rootless).")
  var runroot: String?

  func store() throws -> ContentStore {
    try ContentStore(root: root ?? ContentStore.defaultRoot())
  }

  func engine() throws -> Engine {
    try Engine(root: root, runRoot: runroot)
  }
}

/// Registry options shared by pull, push and login.
struct RegistryFlags: ParsableArguments {
  @Option(
    name: .customLong("tls-verify"),
    help:
      "Require HTTPS and verify certificates (default: true unless insecure in registries.conf)."
  )
  var tlsVerify: Bool?

  @Option(help: "Path of the authentication file (default: podman's auth.json).")
  var authfile: String?

  @Option(help: "Credentials USERNAME[:PASSWORD] for the registry.")
  var creds: String?

  func options() -> RegistryOptions {
    var credentials: Credentials?
    if let creds {
      let parts = creds.split(separator: ":", maxSplits: 1).map(String.init)
      credentials = Credentials(username: parts[0], password: parts.count > 1 ? parts[1] : "")
    }
    return RegistryOptions(
      tlsVerify: tlsVerify, authFile: AuthFile(path: authfile), credentials: credentials)
  }
}

/// Prints progress to stderr unless quiet, as podman does.
func progressSink(quiet: Bool) -> ProgressSink? {
  if quiet { return nil }
  return { @Sendable line in printError(line) }
}

/// Writes a line to standard error (fd 2, unbuffered).
func printError(_ line: String) { writeStandardError(line + "\n") }

/// Writes all of `text` to fd 2, unbuffered (progress lines and errors).
func writeStandardError(_ text: String) {
  let bytes = Array(text.utf8)
  bytes.withUnsafeBytes { raw in
    var offset = 0
    while offset < raw.count {
      let n = write(2, raw.baseAddress! + offset, raw.count - offset)
      if n <= 0 { return }
      offset += n
    }
  }
}
