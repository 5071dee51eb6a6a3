import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc

struct ExecCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exec", abstract: "Run a new process inside a running container.")
  @Option(name: [.short, .long], help: "JSON file with the process (runtime-spec process object).")
  var process: String?
  @Flag(name: [.short, .long], help: "Allocate a pseudo-terminal (needs --console-socket).")
  var tty = false
  @Option(help: "Working directory in the container.") var cwd: String?
  @Option(name: [.short, .long], help: "Set an environment variable (KEY=VALUE).") var env:
    [String] = []
  @Option(name: [.short, .long], help: "UID[:GID] to run as.") var user: String?
  @Option(name: [.customShort("g"), .long], help: "Additional group id.") var additionalGids:
    [UInt32] = []
  @Option(name: [.short, .long], help: "Add a capability (never to the inheritable set).") var cap:
    [String] = []
  @Flag(name: [.short, .long], help: "Return once the process has started.") var detach = false
  @Option(help: "File to write the process's pid to.") var pidFile: String?
  @Option(help: "Unix socket to which the pty master is sent.") var consoleSocket: String?
  @Option(help: "Pass N extra file descriptors to the process.") var preserveFds: Int = 0
  @Flag(help: "Set no_new_privs for the process.") var noNewPrivs = false
  @Option(help: "Accepted for runc compatibility; AppArmor is not supported.") var apparmor: String?
  @Option(help: "Accepted for runc compatibility; SELinux is not supported.") var processLabel:
    String?
  @Flag(help: "Accepted for runc compatibility.") var ignorePaused = false
  @Argument(help: "Container id.") var id: String
  @Argument(parsing: .captureForPassthrough, help: "Command and arguments (without --process).")
  var command: [String] = []

  func run() {
    var request = ExecRequest(id: id, command: command)
    request.processFile = process
    request.tty = tty
    request.cwd = cwd
    request.env = env
    request.user = user
    request.additionalGids = additionalGids
    request.capabilities = cap
    request.detach = detach
    request.pidFile = pidFile
    request.consoleSocket = consoleSocket
    request.preserveFDs = preserveFds
    request.noNewPrivileges = noNewPrivs
    request.execute()
  }
}

/// What `exec` was asked, whichever parser read the command line.
struct ExecRequest {
  var id: String
  var command: [String]
  var processFile: String?
  var tty = false
  var cwd: String?
  var env: [String] = []
  var user: String?
  var additionalGids: [UInt32] = []
  var capabilities: [String] = []
  var detach = false
  var pidFile: String?
  var consoleSocket: String?
  var preserveFDs = 0
  var noNewPrivileges = false

  init(id: String, command: [String]) {
    self.id = id
    self.command = command
  }

  func execute() -> Never {
    let code = perform { runtime throws(BerthError) in
      // Loaded once: for the container's own process and for exec.
      var record: ContainerRecord? = nil
      let process: Spec.Process
      if let processFile {
        process = try readProcessFile(processFile)
      } else {
        guard !command.isEmpty else {
          throw BerthError(.invalidArgument, "exec needs a command or --process FILE")
        }
        let loaded = try runtime.store.load(id)
        record = loaded
        process = try buildProcess(from: loaded)
      }
      var options = ExecOptions(id: id, process: process)
      options.consoleSocket = consoleSocket
      options.pidFile = pidFile
      options.detach = detach
      options.preserveFDs = preserveFDs
      options.extraCapabilities = capabilities
      if record == nil { record = try runtime.store.load(id) }
      return try runtime.exec(options, record: record!)
    }
    Glibc.exit(code)
  }

  /// --process FILE: the process as given.
  func readProcessFile(_ path: String) throws(BerthError) -> Spec.Process {
    let bytes = try readFile(path)
    do {
      return try JSONDecoder().decode(Spec.Process.self, from: Data(bytes))
    } catch {
      throw BerthError(.invalidArgument, "\(path) is not a valid process JSON: \(error)")
    }
  }

  /// Without --process: the container's own process, with the command and
  /// flags applied on top (as runc does).
  func buildProcess(from record: ContainerRecord) throws(BerthError) -> Spec.Process {
    var p = record.spec.process ?? Spec.Process()
    p.args = command
    p.terminal = tty
    p.consoleSize = nil
    if let cwd { p.cwd = cwd }
    if !env.isEmpty {
      let keys = Set(
        env.map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0 })
      p.env =
        (p.env ?? []).filter {
          !keys.contains(String($0.split(separator: "=", maxSplits: 1).first ?? ""))
        } + env
    }
    if let user {
      let parts = user.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
      guard let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
        throw BerthError(.invalidArgument, "--user must be UID[:GID] in numbers, not \"\(user)\"")
      }
      p.user.uid = uid
      if parts.count == 2 { p.user.gid = UInt32(parts[1])! }
    }
    if !additionalGids.isEmpty { p.user.additionalGids = additionalGids }
    if noNewPrivileges { p.noNewPrivileges = true }
    return p
  }
}
