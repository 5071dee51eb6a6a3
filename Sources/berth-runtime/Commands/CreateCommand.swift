import ArgumentParser
import BerthRuntime
import BerthSystem

/// The flags create and run share.
struct CreateFlags: ParsableArguments {
  @Option(
    name: [.short, .long], help: "Path to the bundle directory (default: current directory).")
  var bundle: String = "."
  @Option(help: "Unix socket to which the pty master is sent when process.terminal is true.")
  var consoleSocket: String?
  @Option(help: "File to write the container's init pid to.")
  var pidFile: String?
  @Flag(help: "Do not use pivot_root (for a rootfs on ramfs).")
  var noPivot = false
  @Flag(help: "Do not create a new session keyring for the container.")
  var noNewKeyring = false
  @Option(help: "Pass N extra file descriptors (3 to 3+N-1) to the process.")
  var preserveFds: Int = 0

  func options(id: String) -> CreateOptions {
    var options = CreateOptions(id: id, bundle: bundle)
    options.consoleSocket = consoleSocket
    options.pidFile = pidFile
    options.noPivot = noPivot
    options.noNewKeyring = noNewKeyring
    options.preserveFDs = preserveFds
    return options
  }
}

struct CreateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create", abstract: "Create a container, ready for `start`.")
  @OptionGroup var flags: CreateFlags
  @Flag(
    name: [.short, .long],
    help: "Accepted as go-runc sends it; create always returns once the container exists.")
  var detach = false
  @Argument(help: "Container id.") var id: String

  func run() { Self.execute(flags.options(id: id)) }

  static func execute(_ options: CreateOptions) {
    _ = perform { runtime throws(BerthError) in try runtime.create(options) }
  }
}
