// A parsed Containerfile/Dockerfile: stages of instructions, kept close to
// the text. Words stay unexpanded (quotes and `$VAR` included) because
// docker expands them at build time with the environment and args each
// step sees; `ShellWords` does that expansion.
import BerthSystem

public struct Containerfile: Sendable, Equatable {
  /// `ARG`s before the first `FROM`: usable in `FROM` lines only, unless a
  /// stage redeclares them.
  public var globalArgs: [ArgDefinition] = []
  public var stages: [Stage] = []
  /// The `# escape=` directive's character (`\` by default).
  public var escape: Character = "\\"
  /// The `# syntax=` directive's value, if any (ignored: berth has one frontend).
  public var syntax: String?

  public init() {}
}

public struct Stage: Sendable, Equatable {
  /// Position in the file, from 0; `COPY --from=0` names stages by it.
  public var index: Int
  /// `FROM ... AS name`, lowercased as docker compares them.
  public var name: String?
  /// The base: an image reference, a stage name, or `scratch`; unexpanded.
  public var base: String
  /// `FROM --platform=...`, unexpanded.
  public var platform: String?
  public var instructions: [Instruction] = []
  /// The line of the FROM.
  public var line: Int

  public init(index: Int, name: String?, base: String, platform: String?, line: Int) {
    self.index = index
    self.name = name
    self.base = base
    self.platform = platform
    self.line = line
  }
}

/// `--name=value` before an instruction's arguments (`--from=`, `--chown=`,
/// `--mount=`, ...). A flag may repeat (`--mount`). `value` is nil for a bare
/// `--link`.
public struct InstructionFlag: Sendable, Equatable {
  public var name: String
  public var value: String?

  public init(name: String, value: String?) {
    self.name = name
    self.value = value
  }
}

/// A here-document (`RUN <<EOF`, `COPY <<EOF /path`).
public struct Heredoc: Sendable, Equatable {
  /// The word after `<<` (or `<<-`), quotes removed.
  public var name: String
  /// The body, lines joined with "\n", a trailing newline kept as written.
  public var content: String
  /// False when the word was quoted (`<<"EOF"`, `<<'EOF'`): no expansion.
  public var expands: Bool
  /// `<<-`: leading tabs stripped from each body line (already applied to `content`).
  public var stripsTabs: Bool

  public init(name: String, content: String, expands: Bool, stripsTabs: Bool) {
    self.name = name
    self.content = content
    self.expands = expands
    self.stripsTabs = stripsTabs
  }
}

/// The exec form (`["a", "b"]`, a JSON array, already decoded) or the shell
/// form (the rest of the line, continuations joined, unexpanded).
public enum CommandForm: Sendable, Equatable {
  case exec([String])
  case shell(String)
}

/// `ARG name[=default]`; `defaultValue` is unexpanded.
public struct ArgDefinition: Sendable, Equatable {
  public var name: String
  public var defaultValue: String?

  public init(name: String, defaultValue: String?) {
    self.name = name
    self.defaultValue = defaultValue
  }
}

/// `HEALTHCHECK [OPTIONS] CMD ...`: options raw (`interval` → `30s`).
public struct HealthcheckDefinition: Sendable, Equatable {
  public var options: [InstructionFlag]
  public var command: CommandForm

  public init(options: [InstructionFlag], command: CommandForm) {
    self.options = options
    self.command = command
  }
}

public enum Command: Sendable, Equatable {
  /// Heredocs, if any, are in `Instruction.heredocs`; with one, the shell
  /// form's text is the line up to and including `<<EOF` as written.
  case run(CommandForm)
  /// Sources and destination as unexpanded words (JSON form decoded).
  case copy(sources: [String], destination: String)
  case add(sources: [String], destination: String)
  /// Key/value pairs, values unexpanded (`ENV a=b c="d e"`, or the old `ENV a b c`).
  case env([(key: String, value: String)])
  case arg([ArgDefinition])
  case workdir(String)
  case user(String)
  /// Unexpanded words (`80/tcp`, `$PORT`).
  case expose([String])
  /// Paths (JSON form decoded, or whitespace-separated words), unexpanded.
  case volume([String])
  case label([(key: String, value: String)])
  case entrypoint(CommandForm)
  case cmd(CommandForm)
  /// JSON form only, as docker requires.
  case shell([String])
  case stopSignal(String)
  /// nil: `HEALTHCHECK NONE`.
  case healthcheck(HealthcheckDefinition?)
  /// The trigger instruction's text (e.g. `RUN echo hi`), run by children.
  case onbuild(String)
  case maintainer(String)

  public static func == (lhs: Command, rhs: Command) -> Bool {
    switch (lhs, rhs) {
    case (.run(let a), .run(let b)), (.entrypoint(let a), .entrypoint(let b)),
      (.cmd(let a), .cmd(let b)):
      return a == b
    case (.copy(let a, let b), .copy(let c, let d)), (.add(let a, let b), .add(let c, let d)):
      return a == c && b == d
    case (.env(let a), .env(let b)), (.label(let a), .label(let b)):
      return a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
    case (.arg(let a), .arg(let b)): return a == b
    case (.workdir(let a), .workdir(let b)), (.user(let a), .user(let b)),
      (.stopSignal(let a), .stopSignal(let b)), (.onbuild(let a), .onbuild(let b)),
      (.maintainer(let a), .maintainer(let b)):
      return a == b
    case (.expose(let a), .expose(let b)), (.volume(let a), .volume(let b)),
      (.shell(let a), .shell(let b)):
      return a == b
    case (.healthcheck(let a), .healthcheck(let b)): return a == b
    default: return false
    }
  }
}

public struct Instruction: Sendable, Equatable {
  /// The keyword, uppercased (`RUN`).
  public var keyword: String
  public var flags: [InstructionFlag]
  public var command: Command
  public var heredocs: [Heredoc]
  /// The first line of the instruction in the file, from 1.
  public var line: Int
  /// The instruction as written, continuations joined into one line
  /// (progress shows it as `STEP n/m: <text>`; history records it).
  public var text: String

  public init(
    keyword: String, flags: [InstructionFlag], command: Command, heredocs: [Heredoc] = [],
    line: Int, text: String
  ) {
    self.keyword = keyword
    self.flags = flags
    self.command = command
    self.heredocs = heredocs
    self.line = line
    self.text = text
  }

  /// The values of flag `name`, in order.
  public func flagValues(_ name: String) -> [String] {
    flags.filter { $0.name == name }.compactMap(\.value)
  }

  public func hasFlag(_ name: String) -> Bool { flags.contains { $0.name == name } }
}
