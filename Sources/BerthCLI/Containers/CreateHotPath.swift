// `run` and `create` read by hand. swift-argument-parser builds a command's
// argument set by reflection (a Mirror over every property wrapper, a
// dynamic cast and a first conformance lookup per wrapper type), two or
// three times per parse: about 4 ms of a 24 ms `berth run`, the largest
// single cost of the CLI. This parser fills the same command values from
// the plain forms of these two verbs. Whatever it is not sure of (help,
// `--`, a short option with its value attached, a repeated single-value
// option, a value that looks like a flag, a number or boolean it cannot
// read, an unknown flag) it leaves to swift-argument-parser, which parses
// it or prints its error. A test holds both parsers to the same result,
// option by option.
import ArgumentParser

enum CreateHotPath {
  /// The values of a `run` or `create` before they become that command.
  struct Values {
    var global = GlobalOptions()
    var registry = RegistryFlags()
    var flags = CreateFlags()
    var detach = false
    var attach: [String] = []
    var sigProxy = true
    var detachKeys = "ctrl-p,ctrl-q"
    var imageAndCommand: [String] = []
  }

  /// Where an option's value goes, with its default. Setters, not key
  /// paths: a write through a key path reads the wrapped value first, and
  /// a property wrapper not yet given a value cannot be read.
  enum Slot {
    case flag((inout Values, Bool) -> Void)
    case text((inout Values, String?) -> Void)
    case list((inout Values, [String]) -> Void)
    case number((inout Values, Int?) -> Void)
    case bool((inout Values, Bool) -> Void, default: Bool)
    case optionalBool((inout Values, Bool?) -> Void)
    case value((inout Values, String) -> Void, default: String)

    var takesValue: Bool {
      if case .flag = self { return false }
      return true
    }

    var repeatable: Bool {
      if case .list = self { return true }
      return false
    }

    func setDefault(_ values: inout Values) {
      switch self {
      case .flag(let set): set(&values, false)
      case .text(let set): set(&values, nil)
      case .list(let set): set(&values, [])
      case .number(let set): set(&values, nil)
      case .bool(let set, let value): set(&values, value)
      case .optionalBool(let set): set(&values, nil)
      case .value(let set, let value): set(&values, value)
      }
    }

    /// Stores `text` (a list's whole value); false when
    /// swift-argument-parser should judge it.
    func store(_ text: String, list: [String], in values: inout Values) -> Bool {
      switch self {
      case .flag(let set): set(&values, true)
      case .text(let set): set(&values, text)
      case .list(let set): set(&values, list)
      case .number(let set):
        guard let number = Int(text) else { return false }
        set(&values, number)
      case .bool(let set, _):
        guard let flag = Bool(text) else { return false }
        set(&values, flag)
      case .optionalBool(let set):
        guard let flag = Bool(text) else { return false }
        set(&values, flag)
      case .value(let set, _): set(&values, text)
      }
      return true
    }
  }

  struct Entry {
    var names: [String]
    var slot: Slot
    var runOnly = false
  }

  /// Every option of `run` and `create`, with swift-argument-parser's names.
  /// (A function, not a static table: its closures are not Sendable.)
  static func table() -> [Entry] {
    [
      Entry(names: ["--root"], slot: .text({ $0.global.root = $1 })),
      Entry(names: ["--runroot"], slot: .text({ $0.global.runroot = $1 })),
      Entry(names: ["--tls-verify"], slot: .optionalBool({ $0.registry.tlsVerify = $1 })),
      Entry(names: ["--authfile"], slot: .text({ $0.registry.authfile = $1 })),
      Entry(names: ["--creds"], slot: .text({ $0.registry.creds = $1 })),
      Entry(names: ["-d", "--detach"], slot: .flag({ $0.detach = $1 }), runOnly: true),
      Entry(names: ["-a", "--attach"], slot: .list({ $0.attach = $1 }), runOnly: true),
      Entry(
        names: ["--sig-proxy"], slot: .bool({ $0.sigProxy = $1 }, default: true), runOnly: true),
      Entry(
        names: ["--detach-keys"], slot: .value({ $0.detachKeys = $1 }, default: "ctrl-p,ctrl-q"),
        runOnly: true),
      Entry(names: ["-i", "--interactive"], slot: .flag({ $0.flags.interactive = $1 })),
      Entry(names: ["-t", "--tty"], slot: .flag({ $0.flags.tty = $1 })),
      Entry(names: ["--rm"], slot: .flag({ $0.flags.rm = $1 })),
      Entry(names: ["--name"], slot: .text({ $0.flags.name = $1 })),
      Entry(names: ["-e", "--env"], slot: .list({ $0.flags.env = $1 })),
      Entry(names: ["--env-file"], slot: .list({ $0.flags.envFile = $1 })),
      Entry(names: ["--env-host"], slot: .flag({ $0.flags.envHost = $1 })),
      Entry(names: ["-v", "--volume"], slot: .list({ $0.flags.volume = $1 })),
      Entry(names: ["--mount"], slot: .list({ $0.flags.mount = $1 })),
      Entry(names: ["--tmpfs"], slot: .list({ $0.flags.tmpfs = $1 })),
      Entry(names: ["--volume-driver"], slot: .text({ $0.flags.volumeDriver = $1 })),
      Entry(names: ["-w", "--workdir"], slot: .text({ $0.flags.workdir = $1 })),
      Entry(names: ["-u", "--user"], slot: .text({ $0.flags.user = $1 })),
      Entry(names: ["--group-add"], slot: .list({ $0.flags.groupAdd = $1 })),
      Entry(names: ["--entrypoint"], slot: .text({ $0.flags.entrypoint = $1 })),
      Entry(names: ["-h", "--hostname"], slot: .text({ $0.flags.hostname = $1 })),
      Entry(names: ["--read-only"], slot: .flag({ $0.flags.readOnly = $1 })),
      Entry(
        names: ["--read-only-tmpfs"], slot: .bool({ $0.flags.readOnlyTmpfs = $1 }, default: true)),
      Entry(names: ["-m", "--memory"], slot: .text({ $0.flags.memory = $1 })),
      Entry(names: ["--memory-swap"], slot: .text({ $0.flags.memorySwap = $1 })),
      Entry(names: ["--cpus"], slot: .text({ $0.flags.cpus = $1 })),
      Entry(names: ["-c", "--cpu-shares"], slot: .text({ $0.flags.cpuShares = $1 })),
      Entry(names: ["--cpuset-cpus"], slot: .text({ $0.flags.cpusetCpus = $1 })),
      Entry(names: ["--pids-limit"], slot: .text({ $0.flags.pidsLimit = $1 })),
      Entry(names: ["--shm-size"], slot: .text({ $0.flags.shmSize = $1 })),
      Entry(names: ["--device"], slot: .list({ $0.flags.device = $1 })),
      Entry(names: ["--cap-add"], slot: .list({ $0.flags.capAdd = $1 })),
      Entry(names: ["--cap-drop"], slot: .list({ $0.flags.capDrop = $1 })),
      Entry(names: ["--privileged"], slot: .flag({ $0.flags.privileged = $1 })),
      Entry(names: ["--security-opt"], slot: .list({ $0.flags.securityOpt = $1 })),
      Entry(names: ["--sysctl"], slot: .list({ $0.flags.sysctl = $1 })),
      Entry(names: ["--init"], slot: .flag({ $0.flags.`init` = $1 })),
      Entry(names: ["--ulimit"], slot: .list({ $0.flags.ulimit = $1 })),
      Entry(names: ["--restart"], slot: .text({ $0.flags.restart = $1 })),
      Entry(names: ["--stop-signal"], slot: .text({ $0.flags.stopSignal = $1 })),
      Entry(names: ["--stop-timeout"], slot: .number({ $0.flags.stopTimeout = $1 })),
      Entry(names: ["-l", "--label"], slot: .list({ $0.flags.label = $1 })),
      Entry(names: ["--annotation"], slot: .list({ $0.flags.annotation = $1 })),
      Entry(names: ["--health-cmd"], slot: .text({ $0.flags.healthCmd = $1 })),
      Entry(names: ["--health-interval"], slot: .text({ $0.flags.healthInterval = $1 })),
      Entry(names: ["--health-retries"], slot: .number({ $0.flags.healthRetries = $1 })),
      Entry(names: ["--health-timeout"], slot: .text({ $0.flags.healthTimeout = $1 })),
      Entry(names: ["--health-start-period"], slot: .text({ $0.flags.healthStartPeriod = $1 })),
      Entry(names: ["--no-healthcheck"], slot: .flag({ $0.flags.noHealthcheck = $1 })),
      Entry(names: ["--pull"], slot: .value({ $0.flags.pull = $1 }, default: "missing")),
      Entry(names: ["--network", "--net"], slot: .list({ $0.flags.network = $1 })),
      Entry(names: ["-p", "--publish"], slot: .list({ $0.flags.publish = $1 })),
      Entry(names: ["-P", "--publish-all"], slot: .flag({ $0.flags.publishAll = $1 })),
      Entry(names: ["--ip"], slot: .text({ $0.flags.ip = $1 })),
      Entry(names: ["--ip6"], slot: .text({ $0.flags.ip6 = $1 })),
      Entry(names: ["--mac-address"], slot: .text({ $0.flags.macAddress = $1 })),
      Entry(names: ["--network-alias"], slot: .list({ $0.flags.networkAlias = $1 })),
      Entry(names: ["--dns"], slot: .list({ $0.flags.dns = $1 })),
      Entry(names: ["--dns-search"], slot: .list({ $0.flags.dnsSearch = $1 })),
      Entry(names: ["--dns-option", "--dns-opt"], slot: .list({ $0.flags.dnsOption = $1 })),
      Entry(names: ["--add-host"], slot: .list({ $0.flags.addHost = $1 })),
      Entry(names: ["--pid"], slot: .text({ $0.flags.pid = $1 })),
      Entry(names: ["--ipc"], slot: .text({ $0.flags.ipc = $1 })),
      Entry(names: ["--uts"], slot: .text({ $0.flags.uts = $1 })),
      Entry(names: ["--userns"], slot: .text({ $0.flags.userns = $1 })),
      Entry(names: ["--uidmap"], slot: .list({ $0.flags.uidmap = $1 })),
      Entry(names: ["--gidmap"], slot: .list({ $0.flags.gidmap = $1 })),
      Entry(names: ["--cgroup-parent"], slot: .text({ $0.flags.cgroupParent = $1 })),
      Entry(names: ["--cgroupns"], slot: .text({ $0.flags.cgroupns = $1 })),
      Entry(names: ["--log-driver"], slot: .text({ $0.flags.logDriver = $1 })),
      Entry(names: ["--log-opt"], slot: .list({ $0.flags.logOpt = $1 })),
      Entry(names: ["--runtime"], slot: .text({ $0.flags.runtime = $1 })),
      Entry(names: ["--cidfile"], slot: .text({ $0.flags.cidfile = $1 })),
      Entry(names: ["--platform"], slot: .text({ $0.flags.platform = $1 })),
      Entry(names: ["--timeout"], slot: .number({ $0.flags.timeout = $1 })),
    ]
  }

  /// The parsed command, or nil to let swift-argument-parser parse it.
  static func parse(_ arguments: [String], run: Bool) -> (any ParsableCommand)? {
    guard let values = values(arguments, run: run) else { return nil }
    if run {
      var command = Run()
      command.global = values.global
      command.registry = values.registry
      command.flags = values.flags
      command.detach = values.detach
      command.attach = values.attach
      command.sigProxy = values.sigProxy
      command.detachKeys = values.detachKeys
      command.imageAndCommand = values.imageAndCommand
      return command
    }
    var command = Create()
    command.global = values.global
    command.registry = values.registry
    command.flags = values.flags
    command.imageAndCommand = values.imageAndCommand
    return command
  }

  static func values(_ arguments: [String], run: Bool) -> Values? {
    let entries = table()
    var index: [String: Int] = [:]
    for (number, entry) in entries.enumerated() where run || !entry.runOnly {
      for name in entry.names { index[name] = number }
    }
    var values = Values()
    for entry in entries { entry.slot.setDefault(&values) }
    var seen = Set<Int>()
    var lists: [Int: [String]] = [:]
    var position = 0
    /// Stores one option's value; false to decline the whole parse.
    func take(_ number: Int, _ value: String?) -> Bool {
      let slot = entries[number].slot
      guard seen.insert(number).inserted || slot.repeatable else { return false }
      if !slot.takesValue { return value == nil && slot.store("", list: [], in: &values) }
      var value = value
      if value == nil {
        position += 1
        guard position < arguments.count else { return false }
        value = arguments[position]
      }
      // A value that looks like an option is swift-argument-parser's call.
      guard let value, !value.hasPrefix("-") else { return false }
      if slot.repeatable { lists[number, default: []].append(value) }
      return slot.store(value, list: lists[number] ?? [], in: &values)
    }
    while position < arguments.count {
      let argument = arguments[position]
      if argument.hasPrefix("--") {
        let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        // swift-argument-parser reads `--name=` as `--name` followed by a value.
        if parts.count == 2 && parts[1].isEmpty { return nil }
        guard let number = index[String(parts[0])],
          take(number, parts.count == 2 ? String(parts[1]) : nil)
        else { return nil }
      } else if argument.hasPrefix("-") {
        guard argument.count >= 2, !argument.contains("=") else { return nil }
        let letters = Array(argument.dropFirst())
        // Grouped short flags (-it); an option's letter only stands alone.
        for letter in letters {
          guard let number = index["-\(letter)"] else { return nil }
          if entries[number].slot.takesValue && letters.count > 1 { return nil }
          guard take(number, nil) else { return nil }
        }
      } else {
        values.imageAndCommand = Array(arguments[position...])
        break
      }
      position += 1
    }
    return values
  }
}
