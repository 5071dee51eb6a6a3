import BerthRuntime
import BerthSystem
import Glibc
import Logging

/// runc's global flags. Callers (conmon, containerd's go-runc) put them
/// before the subcommand, so they are taken off the command line before
/// swift-argument-parser sees the subcommand.
struct GlobalOptions {
  var root: String?
  var log: String?
  var logFormat: RuntimeLogHandler.Format = .text
  var debug = false
  var systemdCgroup = false
  var rootless: Bool?

  /// Flags that take a value, and the boolean ones.
  /// (CRuntimeEntry's constructor knows the same list.)
  static let valued = ["--root", "--log", "--log-format", "--rootless", "--criu"]
  static let boolean = ["--debug", "--systemd-cgroup"]

  /// Splits `args` (without argv[0]) into globals and the rest.
  static func parse(_ args: [String]) throws(BerthError) -> (GlobalOptions, [String]) {
    var options = GlobalOptions()
    var index = 0
    while index < args.count {
      var arg = args[index]
      var value: String? = nil
      if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
        value = String(arg[arg.index(after: eq)...])
        arg = String(arg[..<eq])
      }
      if boolean.contains(arg) {
        let on = value.map { $0 != "false" } ?? true
        if arg == "--debug" { options.debug = on } else { options.systemdCgroup = on }
        index += 1
        continue
      }
      guard valued.contains(arg) else { break }
      if value == nil {
        guard index + 1 < args.count else {
          throw BerthError(.invalidArgument, "flag \(arg) needs a value")
        }
        value = args[index + 1]
        index += 1
      }
      index += 1
      switch arg {
      case "--root": options.root = value
      case "--log": options.log = value
      case "--log-format":
        guard let format = RuntimeLogHandler.Format(rawValue: value!) else {
          throw BerthError(
            .invalidArgument, "unknown --log-format \"\(value!)\"", hint: "use text or json")
        }
        options.logFormat = format
      case "--rootless":
        switch value! {
        case "true": options.rootless = true
        case "false": options.rootless = false
        case "auto": options.rootless = nil
        default:
          throw BerthError(
            .invalidArgument, "--rootless takes true, false or auto, not \"\(value!)\"")
        }
      default: break
      }
    }
    return (options, Array(args[index...]))
  }

  /// Installs the log handler: the --log file (appended), else stderr.
  func installLogging() {
    var fd: Int32 = 2
    if let log, !log.isEmpty {
      let opened = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
      if opened >= 0 { fd = opened }
    }
    let format = logFormat
    let level: Logger.Level = debug ? .debug : .info
    LoggingSystem.bootstrap { _ in RuntimeLogHandler(fd: fd, format: format, level: level) }
    runtimeLogger = Logger(label: "berth-runtime")
    logToFile = fd != 2
  }

  func runtime() -> Runtime {
    Runtime(root: root, rootless: rootless, systemdCgroup: systemdCgroup)
  }
}

/// Whether errors also go to a --log file (they always go to stderr).
nonisolated(unsafe) var logToFile = false
nonisolated(unsafe) var globals = GlobalOptions()
