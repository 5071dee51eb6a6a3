// One stage, step by step: FROM sets the state, each instruction changes
// the config or adds a layer, and each layer step is looked up in the cache
// first. Progress is printed as podman prints it (`[i/n] STEP k/m: ...`).
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

struct StageBuilder {
  let builder: Builder
  let stage: Stage
  let total: Int
  var state: StageState
  var step = 0
  let steps: Int
  /// ONBUILD triggers of the base image, run right after FROM.
  var triggers: [Instruction] = []

  init(builder: Builder, stage: Stage, total: Int) {
    self.builder = builder
    self.stage = stage
    self.total = total
    steps = stage.instructions.count + 1
    state = StageState(
      layers: nil,
      image: ImageConfig(platform: .host, rootfs: ImageConfig.RootFS(diffIDs: [])), key: "")
  }

  var options: BuildOptions { builder.options }
  var engine: Engine { builder.engine }
  var fileName: String { options.containerfileName }

  func progress(_ text: String) {
    guard !options.quiet else { return }
    let prefix =
      builder.file.stages.count > 1 ? "[\(stageNumber)/\(builder.file.stages.count)] " : ""
    builder.print(prefix + text)
  }

  var stageNumber: Int { stage.index + 1 }

  func located(_ instruction: Instruction, _ message: String, hint: String? = nil) -> BerthError {
    BerthError(.invalidArgument, "\(fileName):\(instruction.line): \(message)", hint: hint)
  }

  mutating func run() async throws -> StageState {
    step = 1
    let from =
      "FROM "
      + (stage.platform.map { "--platform=\($0) " } ?? "") + stage.base
      + (stage.name.map { " AS \($0)" } ?? "")
    progress("STEP 1/\(steps): \(from)")
    try await startFrom()
    for trigger in triggers {
      try Task.checkCancellation()
      try BuildInterrupt.check()
      progress("Running ONBUILD trigger: \(trigger.text)")
      try await execute(trigger)
    }
    for instruction in stage.instructions {
      try Task.checkCancellation()
      try BuildInterrupt.check()
      step += 1
      progress("STEP \(step)/\(steps): \(instruction.text)")
      try await execute(instruction)
    }
    return state
  }

  // MARK: FROM

  mutating func startFrom() async throws {
    let base = try builder.expandGlobal(stage.base)
    guard !base.isEmpty else {
      throw BerthError(
        .invalidArgument,
        "\(fileName):\(stage.line): base name (\(stage.base)) should not be blank",
        hint: "pass the missing value with --build-arg or give the ARG a default")
    }
    if let platform = stage.platform {
      let value = try builder.expandGlobal(platform)
      guard value.isEmpty || value == Platforms.host else {
        throw BerthError(
          .unsupported,
          "\(fileName):\(stage.line): platform \(value) is not this host's (\(Platforms.host))",
          hint: "berth builds for the host's platform only")
      }
    }
    if base.lowercased() == "scratch" {
      state.key = BuildCache.key(parent: "", step: "scratch")
      return
    }
    if let other = builder.stage(named: base), other.index != stage.index {
      var inherited = try await builder.stageTask(other.index, total: total).value
      inherited.args = [:]
      inherited.newLayers = 0
      state = inherited
      return
    }
    let image = try await builder.resolveBase(base)
    state.layers = image
    state.image = try engine.store.config(of: image)
    state.key = BuildCache.key(parent: "", step: "image " + image.id.description)
    for text in state.config.onBuild ?? [] {
      triggers.append(
        try Instruction.parseTrigger(
          text, escape: builder.file.escape, fileName: "\(fileName) (ONBUILD of \(base))",
          line: stage.line))
    }
    state.config.onBuild = nil
  }

  // MARK: Instructions

  func expand(_ word: String) throws(BerthError) -> String {
    let current = state
    return try ShellWords.expand(word, escape: builder.file.escape) { current.lookup($0) }
  }

  mutating func execute(_ instruction: Instruction) async throws {
    switch instruction.command {
    case .run(let form):
      try await run(form, instruction)
    case .copy(let sources, let destination):
      try await copy(sources, to: destination, instruction, isAdd: false)
    case .add(let sources, let destination):
      try await copy(sources, to: destination, instruction, isAdd: true)
    case .env(let pairs):
      for pair in pairs { state.setEnv(try expand(pair.key), try expand(pair.value)) }
      configChanged(instruction)
    case .arg(let definitions):
      for definition in definitions {
        builder.consumedArgs.withLock { _ = $0.insert(definition.name) }
        if let value = options.buildArgs[definition.name] {
          state.args[definition.name] = value
        } else if let raw = definition.defaultValue {
          state.args[definition.name] = try expand(raw)
        } else if let global = builder.globalArgs[definition.name] {
          state.args[definition.name] = global
        }
      }
      // ARG values reach RUN steps, so they are part of the key.
      state.key = BuildCache.key(parent: state.key, step: "arg " + canonical(state.args))
    case .workdir(let raw):
      let path = try expand(raw)
      let absolute = path.hasPrefix("/") ? path : state.workingDir + "/" + path
      state.config.workingDir = RootFS.clean(absolute)
      try await makeWorkdir(instruction)
    case .user(let raw):
      state.config.user = try expand(raw)
      configChanged(instruction)
    case .expose(let words):
      var ports = state.config.exposedPorts ?? [:]
      for word in words {
        for port in try ShellWords.split(word, escape: builder.file.escape, lookup: lookup) {
          ports[port.contains("/") ? port : port + "/tcp"] = EmptyObject()
        }
      }
      state.config.exposedPorts = ports
      configChanged(instruction)
    case .volume(let paths):
      var volumes = state.config.volumes ?? [:]
      for path in paths {
        let value = try expand(path)
        guard !value.isEmpty else { throw located(instruction, "VOLUME needs a path") }
        volumes[value] = EmptyObject()
      }
      state.config.volumes = volumes
      configChanged(instruction)
    case .label(let pairs):
      var labels = state.config.labels ?? [:]
      for pair in pairs { labels[try expand(pair.key)] = try expand(pair.value) }
      state.config.labels = labels
      configChanged(instruction)
    case .entrypoint(let form):
      state.config.entrypoint = commandLine(form)
      // docker: an ENTRYPOINT drops the CMD inherited from the base.
      if !stage.instructions.prefix(while: { $0 != instruction }).contains(where: {
        if case .cmd = $0.command { return true }
        return false
      }) {
        state.config.cmd = nil
      }
      configChanged(instruction)
    case .cmd(let form):
      state.config.cmd = commandLine(form)
      configChanged(instruction)
    case .shell(let words):
      guard !words.isEmpty else { throw located(instruction, "SHELL needs a JSON array") }
      state.config.shell = words
      configChanged(instruction)
    case .stopSignal(let raw):
      let value = try expand(raw)
      guard (try? Signal.parse(value)) != nil else {
        throw located(instruction, "invalid STOPSIGNAL \(value)", hint: "use e.g. SIGTERM or 15")
      }
      state.config.stopSignal = value
      configChanged(instruction)
    case .healthcheck(let definition):
      state.config.healthcheck = try healthcheck(definition, instruction)
      configChanged(instruction)
    case .onbuild(let text):
      state.config.onBuild = (state.config.onBuild ?? []) + [text]
      configChanged(instruction)
    case .maintainer(let name):
      state.image.author = try expand(name)
      configChanged(instruction)
    }
  }

  var lookup: (String) -> String? {
    let current = state
    return { current.lookup($0) }
  }

  /// Exec form as given; shell form through the SHELL.
  func commandLine(_ form: CommandForm) -> [String] {
    switch form {
    case .exec(let words): return words
    case .shell(let text): return state.shell + [text]
    }
  }

  /// A config-only step: a history entry with no layer, and a new key.
  mutating func configChanged(_ instruction: Instruction) {
    let description = "/bin/sh -c #(nop) " + instruction.text
    state.key = BuildCache.key(parent: state.key, step: canonical(state.image.config))
    var history = ImageConfig.History(created: createdTime(), createdBy: description)
    history.emptyLayer = true
    state.image.history = (state.image.history ?? []) + [history]
  }

  func createdTime() -> String {
    options.timestamp.map { rfc3339(seconds: Int64($0), nanoseconds: 0) } ?? rfc3339Now()
  }

  func healthcheck(_ definition: HealthcheckDefinition?, _ instruction: Instruction)
    throws(BerthError) -> ImageConfig.Config.Healthcheck
  {
    var check = ImageConfig.Config.Healthcheck()
    guard let definition else {
      check.test = ["NONE"]
      return check
    }
    switch definition.command {
    case .exec(let words): check.test = ["CMD"] + words
    case .shell(let text): check.test = ["CMD-SHELL", text]
    }
    for option in definition.options {
      let value = option.value ?? ""
      switch option.name {
      case "interval", "timeout", "start-period", "start-interval":
        let seconds = try parseDuration(
          value, what: "HEALTHCHECK --\(option.name)", allowZero: true)
        let nanoseconds = Int64(seconds * 1e9)
        switch option.name {
        case "interval": check.interval = nanoseconds
        case "timeout": check.timeout = nanoseconds
        case "start-period": check.startPeriod = nanoseconds
        default: break
        }
      case "retries":
        guard let count = Int(value), count >= 0 else {
          throw located(instruction, "invalid HEALTHCHECK --retries \(value)")
        }
        check.retries = count
      default:
        throw located(instruction, "unknown HEALTHCHECK option --\(option.name)")
      }
    }
    return check
  }
}

/// The host's platform and the ARGs docker predefines from it.
enum Platforms {
  static var host: String {
    let platform = Platform.host
    return "\(platform.os)/\(platform.architecture)"
      + (platform.variant.map { "/\($0)" } ?? "")
  }

  static var predefinedArgs: [String: String] {
    let platform = Platform.host
    var args: [String: String] = [:]
    for prefix in ["TARGET", "BUILD"] {
      args[prefix + "PLATFORM"] = host
      args[prefix + "OS"] = platform.os
      args[prefix + "ARCH"] = platform.architecture
      args[prefix + "VARIANT"] = platform.variant ?? ""
    }
    return args
  }

  /// Build args docker lets through without an ARG.
  static let proxyArgs: Set<String> = [
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
    "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
  ]
}
