// `run` and `create`: an image (pulled per --pull) and the flags become a
// container record; `run` starts it under its monitor and, in the
// foreground, attaches and exits with the container's status.
import ArgumentParser
import BerthEngine
import BerthImage
import BerthMonitor
import BerthOCI
import BerthSystem
import Foundation
import Glibc

struct Run: AsyncParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "run",
      abstract: "Run a command in a new container.", helpNames: [.long]))

  @OptionGroup var global: GlobalOptions
  @OptionGroup var registry: RegistryFlags
  @OptionGroup var flags: CreateFlags
  @Flag(name: .shortAndLong, help: "Run in the background and print the container id.")
  var detach = false
  @Option(
    name: [.customShort("a"), .customLong("attach")], help: "Attach to STDIN, STDOUT or STDERR.")
  var attach: [String] = []
  @Option(name: .customLong("sig-proxy"), help: "Forward signals to the container.") var sigProxy =
    true
  @Option(name: .customLong("detach-keys"), help: "Keys that detach from the container.")
  var detachKeys = "ctrl-p,ctrl-q"
  @Argument(parsing: .captureForPassthrough, help: "IMAGE [COMMAND [ARG...]]")
  var imageAndCommand: [String] = []

  func run() async throws { try await execute() }

  /// The command's work, on the caller's thread (`Berth.main` calls it
  /// directly): a nonisolated async `run` would first wait for a thread of
  /// the concurrency pool, which a fresh process makes then (0.6 ms).
  nonisolated(nonsending) func execute() async throws {
    if printsHelp(imageAndCommand) { return }
    // Bad -a is refused before anything is created.
    let streams = Set(attach.flatMap { $0.split(separator: ",") }.map { $0.uppercased() })
    for stream in streams where !["STDIN", "STDOUT", "STDERR"].contains(stream) {
      throw BerthError(
        .invalidArgument, "invalid -a \(stream)", hint: "use STDIN, STDOUT or STDERR")
    }
    let detachKeys = try AttachOptions.parseDetachKeys(self.detachKeys)
    Engine.startFollows(
      runRoot: global.runroot, networkNone: flags.network == ["none"],
      userNamespace: flags.userns.map { !$0.isEmpty && $0 != "host" } ?? false
        || !flags.uidmap.isEmpty || !flags.gidmap.isEmpty)
    let engine = try global.engine()
    let container = try await createFromFlags(
      engine: engine, flags: flags, registry: registry, imageAndCommand: imageAndCommand)
    let config = try container.decodedConfig()
    if detach {
      _ = try startOrExit(engine, container.id, attach: false)
      print(container.id)
      return
    }
    var options = AttachOptions()
    options.stdin = config.interactive
    options.tty = config.tty
    options.detachKeys = detachKeys
    if !attach.isEmpty {
      options.stdin = options.stdin && streams.contains("STDIN")
      options.stdout = streams.contains("STDOUT")
      options.stderr = streams.contains("STDERR")
    }
    let code = try attachAndWait(engine, container.id, options: options, sigProxy: sigProxy)
    Glibc.exit(code)
  }
}

struct Create: AsyncParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "create",
      abstract: "Create a container without starting it.", helpNames: [.long]))

  @OptionGroup var global: GlobalOptions
  @OptionGroup var registry: RegistryFlags
  @OptionGroup var flags: CreateFlags
  @Argument(parsing: .captureForPassthrough, help: "IMAGE [COMMAND [ARG...]]")
  var imageAndCommand: [String] = []

  func run() async throws {
    if printsHelp(imageAndCommand) { return }
    let engine = try global.engine()
    let container = try await createFromFlags(
      engine: engine, flags: flags, registry: registry, imageAndCommand: imageAndCommand)
    print(container.id)
  }
}

/// Resolves (and per --pull fetches) the image, then records the container.
nonisolated(nonsending) func createFromFlags(
  engine: Engine, flags: CreateFlags, registry: RegistryFlags, imageAndCommand: [String]
) async throws -> Container {
  guard let imageName = imageAndCommand.first else {
    throw BerthError(
      .invalidArgument, "an image name is needed", hint: "e.g. berth run busybox echo hi")
  }
  let config = try flags.config(command: Array(imageAndCommand.dropFirst()))
  Trace.mark("run: flags read")
  let (image, name) = try await resolveImage(
    engine: engine, imageName, pull: flags.pull, registry: registry, quiet: false)
  Trace.mark("run: image resolved")
  let container = try engine.createContainer(
    name: flags.name, image: image, imageName: name, config: config)
  if let cidfile = flags.cidfile {
    guard FileManager.default.createFile(atPath: cidfile, contents: Data(container.id.utf8)) else {
      _ = try? engine.removeContainer(container.id, force: true, volumes: true)
      throw BerthError(.system, "cannot write the container id to \(cidfile)")
    }
  }
  return container
}

/// The image for `text` under the pull policy; returns it and its name.
nonisolated(nonsending) func resolveImage(
  engine: Engine, _ text: String, pull: String, registry: RegistryFlags, quiet: Bool
) async throws -> (ImageRecord, String) {
  let reference = try Reference(parsing: text)
  let local = try? engine.store.resolveImage(text)
  let name =
    local.flatMap { record in
      text.allSatisfy(\.isHexDigit) || text.hasPrefix("sha256:") ? record.names.first : nil
    } ?? reference.withDefaultTag.description
  if let local, pull == "missing" || pull == "never" { return (local, name) }
  if local == nil && pull == "never" {
    throw BerthError(
      .notFound, "\(text): image not known", hint: "pull it first or use --pull missing")
  }
  do {
    let record = try await engine.store.pullSearching(
      reference, options: registry.options(), progress: progressSink(quiet: quiet))
    return (record, record.names.first ?? name)
  } catch {
    if let local, pull == "newer" { return (local, name) }
    throw error
  }
}

/// Starts the container; a failure to start exits as podman does (126
/// cannot invoke, 127 not found, 125 otherwise).
func startOrExit(_ engine: Engine, _ id: String, attach: Bool) throws -> StartOutcome {
  // A Result rather than do/catch: Swift 6.3's SIL ownership check
  // crashes on a typed-throws catch whose body ends in a Never call.
  let result: Result<StartOutcome, BerthError> = Result { () throws(BerthError) in
    try engine.startContainer(id, attach: attach)
  }
  switch result {
  case .success(let outcome): return outcome
  case .failure(let error):
    printError("Error: \(error)")
    if (try? engine.lookup(id).decodedConfig().autoRemove) == true {
      _ = try? engine.removeContainer(id, force: true, volumes: true)
    }
    Glibc.exit(EngineExit.code(forStartError: error.message))
  }
}

/// Starts with an attach connection, relays, and returns the exit code.
func attachAndWait(_ engine: Engine, _ id: String, options: AttachOptions, sigProxy: Bool) throws
  -> Int32
{
  let outcome = try startOrExit(engine, id, attach: true)
  guard let socket = outcome.attach else { return 0 }
  var options = options
  if sigProxy { options.proxySignalsTo = outcome.container.pid }
  let result = AttachSession.run(socket: socket, options: options)
  close(socket)
  switch result {
  case .exited(let code):
    Trace.mark("run: exit frame")
    _ = try? engine.refresh(id)
    Trace.mark("run: folded in")
    return code
  case .detached:
    return 0
  case .lost:
    let container = try? engine.refresh(id)
    return container?.exitCode ?? EngineExit.engineError
  }
}
