// start, stop, restart, kill, rm, wait, pause, unpause, rename: each takes
// names or ids, acts on each in turn, prints what it acted on as podman
// does, and reports the first failure after trying them all.
import ArgumentParser
import BerthEngine
import BerthMonitor
import BerthSystem
import Glibc

/// Runs `body` for each name; errors are printed and the last one thrown.
func forEach(_ names: [String], _ body: (String) throws -> Void) throws {
  var failure: (any Error)?
  for name in names {
    do { try body(name) } catch {
      if let previous = failure { printError("Error: \(previous)") }
      failure = error
    }
  }
  if let failure { throw failure }
}

func allOrNamed(_ engine: Engine, all: Bool, names: [String], running: Bool = false) throws
  -> [String]
{
  if !all {
    guard !names.isEmpty else {
      throw BerthError(.invalidArgument, "name at least one container, or use --all")
    }
    return names
  }
  return try engine.containers().filter { !running || $0.state == .running || $0.state == .paused }
    .map(\.id)
}

struct Start: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "start", abstract: "Start one or more containers."))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Attach to the container's output and exit with its status.")
  var attach = false
  @Flag(name: .shortAndLong, help: "Attach the container's stdin.") var interactive = false
  @Option(name: .customLong("detach-keys"), help: "Keys that detach.") var detachKeys =
    "ctrl-p,ctrl-q"
  @Option(name: .customLong("sig-proxy"), help: "Forward signals to the container.") var sigProxy =
    true
  @Argument(help: "Containers.") var containers: [String]

  func run() throws {
    let engine = try global.engine()
    if attach {
      guard containers.count == 1 else {
        throw BerthError(.invalidArgument, "you can attach to only one container")
      }
      let config = try engine.lookup(containers[0]).decodedConfig()
      var options = AttachOptions()
      options.stdin = interactive && config.interactive
      options.tty = config.tty
      options.detachKeys = try AttachOptions.parseDetachKeys(detachKeys)
      Glibc.exit(try attachAndWait(engine, containers[0], options: options, sigProxy: sigProxy))
    }
    try forEach(containers) { name in
      _ = try engine.startContainer(name, attach: false)
      print(name)
    }
  }
}

struct Stop: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "stop", abstract: "Stop one or more containers."))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Stop all running containers.") var all = false
  @Option(
    name: [.short, .customLong("time"), .customLong("timeout")], help: "Seconds before SIGKILL.")
  var time: Int?
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    try forEach(try allOrNamed(engine, all: all, names: containers, running: true)) { name in
      _ = try engine.stopContainer(name, timeout: time)
      print(name)
    }
  }
}

struct Restart: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "restart", abstract: "Restart one or more containers.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Restart all containers.") var all = false
  @Option(name: [.short, .customLong("time")], help: "Seconds before SIGKILL.") var time: Int?
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    try forEach(try allOrNamed(engine, all: all, names: containers)) { name in
      _ = try engine.stopContainer(name, timeout: time)
      _ = try engine.startContainer(name, attach: false)
      print(name)
    }
  }
}

struct Kill: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "kill", abstract: "Send a signal to containers."))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Signal all running containers.") var all = false
  @Option(name: .shortAndLong, help: "Signal to send (default KILL).") var signal = "KILL"
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    let number = try Signal.parse(signal)
    try forEach(try allOrNamed(engine, all: all, names: containers, running: true)) { name in
      _ = try engine.killContainer(name, signal: number)
      print(name)
    }
  }
}

struct Rm: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "rm", abstract: "Remove one or more containers."))
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Remove running containers too (they are killed).") var force =
    false
  @Flag(name: .shortAndLong, help: "Remove the containers' anonymous volumes.") var volumes = false
  @Flag(name: .shortAndLong, help: "Remove all containers.") var all = false
  @Flag(name: .customLong("ignore"), help: "Ignore containers that do not exist.") var ignore =
    false
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    var missing: BerthError?
    try forEach(try allOrNamed(engine, all: all, names: containers)) { name in
      do {
        let removed = try engine.removeContainer(name, force: force, volumes: volumes)
        print(removed.id)
      } catch let error as BerthError where error.code == .notFound {
        if !ignore { missing = error }
      }
    }
    // As podman: exit 1 when a named container does not exist.
    if let missing {
      printError("Error: \(missing)")
      throw ExitCode(1)
    }
  }
}

struct Wait: ParsableCommand {
  static let configuration = directVerb(
    CommandConfiguration(
      commandName: "wait",
      abstract: "Wait for containers to stop; print their exit codes."))
  @OptionGroup var global: GlobalOptions
  @Option(help: "Condition: stopped (default), exited, running, healthy, unhealthy, removed.")
  var condition = "stopped"
  @Argument(help: "Containers.") var containers: [String]

  func run() throws {
    let engine = try global.engine()
    try forEach(containers) { name in
      print(try engine.waitForExit(name, condition: condition))
    }
  }
}

struct Pause: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pause", abstract: "Freeze the processes of containers.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Pause all running containers.") var all = false
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    try forEach(try allOrNamed(engine, all: all, names: containers, running: true)) { name in
      try engine.pauseContainer(name, pause: true)
      print(name)
    }
  }
}

struct Unpause: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unpause", abstract: "Thaw paused containers.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Unpause all paused containers.") var all = false
  @Argument(help: "Containers.") var containers: [String] = []

  func run() throws {
    let engine = try global.engine()
    try forEach(try allOrNamed(engine, all: all, names: containers, running: true)) { name in
      try engine.pauseContainer(name, pause: false)
      print(name)
    }
  }
}

struct Rename: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rename", abstract: "Rename a container.")
  @OptionGroup var global: GlobalOptions
  @Argument(help: "Container.") var container: String
  @Argument(help: "New name.") var name: String

  func run() throws {
    try global.engine().renameContainer(container, to: name)
  }
}

struct Attach: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attach", abstract: "Attach to a running container.")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .customLong("no-stdin"), help: "Do not attach stdin.") var noStdin = false
  @Option(name: .customLong("detach-keys"), help: "Keys that detach.") var detachKeys =
    "ctrl-p,ctrl-q"
  @Option(name: .customLong("sig-proxy"), help: "Forward signals to the container.") var sigProxy =
    true
  @Argument(help: "Container.") var container: String

  func run() throws {
    let engine = try global.engine()
    let (record, socket) = try engine.attachConnection(container)
    let config = try record.decodedConfig()
    var options = AttachOptions()
    options.stdin = !noStdin && config.interactive
    options.tty = config.tty
    options.detachKeys = try AttachOptions.parseDetachKeys(detachKeys)
    if sigProxy { options.proxySignalsTo = record.pid }
    let result = AttachSession.run(socket: socket, options: options)
    close(socket)
    switch result {
    case .exited(let code): Glibc.exit(code)
    case .detached: return
    case .lost: Glibc.exit((try? engine.refresh(record.id))?.exitCode ?? EngineExit.engineError)
    }
  }
}
