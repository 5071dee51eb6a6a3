/// What one instruction line becomes: the start of a stage, or a step in one.
enum ParsedLine {
  case from(name: String?, base: String, platform: String?)
  case instruction(Instruction)
}

/// Turns one logical instruction into its typed form, with docker's checks
/// and messages.
enum InstructionParser {
  static let keywords = [
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
  ]

  static func parse(_ logical: LogicalInstruction, escape: Character) throws(ParseFailure)
    -> ParsedLine
  {
    do {
      return try parseUnlocated(logical, escape: escape)
    } catch {
      throw error.at(line: logical.line)
    }
  }

  private static func parseUnlocated(_ logical: LogicalInstruction, escape: Character)
    throws(ParseFailure) -> ParsedLine
  {
    let text = logical.text.trimmedWhitespace
    let (written, afterKeyword) = InstructionWords.firstWord(text)
    let keyword = written.uppercased()
    guard keywords.contains(keyword) else { throw unknownInstruction(keyword) }
    let (flagWords, rest) = InstructionWords.leadingFlags(afterKeyword)
    let arguments = rest.trimmedWhitespace
    // HEALTHCHECK NONE ignores flags, as docker does; everything else checks them.
    let flags =
      keyword == "HEALTHCHECK" && InstructionWords.firstWord(arguments).word.uppercased() == "NONE"
      ? [] : try InstructionFlags.parse(flagWords, keyword: keyword)

    func instruction(_ command: Command) -> ParsedLine {
      .instruction(
        Instruction(
          keyword: keyword, flags: flags, command: command, heredocs: logical.heredocs,
          line: logical.line, text: text))
    }

    switch keyword {
    case "FROM":
      return try from(arguments, platform: flags.first { $0.name == "platform" }?.value)
    case "RUN":
      guard let form = try commandForm(arguments) else { throw atLeastOneArgument(keyword) }
      return instruction(.run(form))
    case "CMD":
      return instruction(.cmd(try commandForm(arguments) ?? .shell("")))
    case "ENTRYPOINT":
      return instruction(.entrypoint(try commandForm(arguments) ?? .shell("")))
    case "SHELL":
      guard case .exec(let words)? = try commandForm(arguments) else {
        throw ParseFailure(
          "SHELL requires the arguments to be in JSON form",
          hint: "write SHELL [\"/bin/sh\", \"-c\"]")
      }
      guard !words.isEmpty else { throw atLeastOneArgument(keyword) }
      return instruction(.shell(words))
    case "COPY", "ADD":
      let (sources, destination) = try sourcesAndDestination(arguments, keyword: keyword)
      return instruction(
        keyword == "COPY"
          ? .copy(sources: sources, destination: destination)
          : .add(sources: sources, destination: destination))
    case "ENV":
      return instruction(.env(try keyValues(arguments, keyword: keyword, escape: escape)))
    case "LABEL":
      return instruction(.label(try keyValues(arguments, keyword: keyword, escape: escape)))
    case "ARG":
      return instruction(.arg(try argDefinitions(arguments, escape: escape)))
    case "WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER":
      guard !arguments.isEmpty else {
        throw ParseFailure("\(keyword) requires exactly one argument", hint: usage(keyword))
      }
      switch keyword {
      case "WORKDIR": return instruction(.workdir(arguments))
      case "USER": return instruction(.user(arguments))
      case "STOPSIGNAL": return instruction(.stopSignal(arguments))
      default: return instruction(.maintainer(arguments))
      }
    case "EXPOSE":
      let ports = InstructionWords.blankSeparated(arguments)
      guard !ports.isEmpty else { throw atLeastOneArgument(keyword) }
      return instruction(.expose(ports))
    case "VOLUME":
      let paths = try wordList(arguments)
      guard !paths.isEmpty else { throw atLeastOneArgument(keyword) }
      guard !paths.contains(where: { $0.trimmedWhitespace.isEmpty }) else {
        throw ParseFailure("VOLUME specified can not be an empty string", hint: usage(keyword))
      }
      return instruction(.volume(paths))
    case "HEALTHCHECK":
      return instruction(.healthcheck(try healthcheck(arguments, options: flags)))
    case "ONBUILD":
      return instruction(
        .onbuild(try onbuildTrigger(logical, arguments: arguments, escape: escape)))
    default:
      throw unknownInstruction(keyword)
    }
  }

  // MARK: - Instructions

  private static func from(_ arguments: String, platform: String?) throws(ParseFailure)
    -> ParsedLine
  {
    let words = InstructionWords.blankSeparated(arguments)
    guard let base = words.first else { throw atLeastOneArgument("FROM") }
    guard words.count == 1 || (words.count == 3 && words[1].lowercased() == "as") else {
      throw ParseFailure("FROM requires either one or three arguments", hint: usage("FROM"))
    }
    guard words.count == 3 else { return .from(name: nil, base: base, platform: platform) }
    let name = words[2].lowercased()
    guard isValidStageName(name) else {
      throw ParseFailure(
        "invalid name for build stage: \"\(words[2])\", name can't start with a number or contain symbols",
        hint: "use letters, digits, '-', '_' and '.', starting with a letter")
    }
    // `COPY --from=scratch` and named contexts use these.
    guard name != "scratch" && name != "context" else {
      throw ParseFailure("\(name) is a reserved stage name", hint: "choose another stage name")
    }
    return .from(name: name, base: base, platform: platform)
  }

  private static func isValidStageName(_ name: String) -> Bool {
    guard let first = name.first, first.isASCII, first.isLowercase else { return false }
    return name.allSatisfy {
      $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".")
    }
  }

  /// RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK CMD: a JSON string array, or
  /// the text as written. nil when there is no text.
  private static func commandForm(_ arguments: String) throws(ParseFailure) -> CommandForm? {
    guard !arguments.isEmpty else { return nil }
    guard arguments.hasPrefix("[") else { return .shell(arguments) }
    switch JSONArgs.parse(arguments) {
    case .strings(let words): return .exec(words)
    case .notStrings: throw notStringArray
    case .notJSON: return .shell(arguments)
    }
  }

  /// COPY, ADD, VOLUME: a JSON string array, or blank-separated words.
  private static func wordList(_ arguments: String) throws(ParseFailure) -> [String] {
    guard arguments.hasPrefix("[") else { return InstructionWords.blankSeparated(arguments) }
    switch JSONArgs.parse(arguments) {
    case .strings(let words): return words
    case .notStrings: throw notStringArray
    case .notJSON: return InstructionWords.blankSeparated(arguments)
    }
  }

  /// Heredoc sources come out as `<<NAME` (quotes and `-` removed), the
  /// name the builder finds in `Instruction.heredocs`.
  private static func sourcesAndDestination(_ arguments: String, keyword: String)
    throws(ParseFailure) -> (sources: [String], destination: String)
  {
    let words = try wordList(arguments)
    guard let destination = words.last, words.count >= 2 else {
      throw ParseFailure(
        "\(keyword) requires at least two arguments, but only one was provided. Destination could not be determined",
        hint: usage(keyword))
    }
    guard HeredocMarker(word: destination) == nil else {
      throw ParseFailure(
        "\(keyword) cannot accept a heredoc as a destination", hint: usage(keyword))
    }
    let sources = words.dropLast().map { word in
      HeredocMarker(word: word).map { "<<" + $0.name } ?? word
    }
    return (sources, destination)
  }

  /// ENV and LABEL: `key=value ...`, or the old `KEY value with spaces`,
  /// chosen by whether the first word has an `=`. Keys and values stay as
  /// written (quotes too); the builder expands both.
  private static func keyValues(_ arguments: String, keyword: String, escape: Character)
    throws(ParseFailure) -> [(key: String, value: String)]
  {
    let words = InstructionWords.quoteAware(arguments, escape: escape)
    guard let first = words.first else { throw atLeastOneArgument(keyword) }
    guard first.contains("=") else {
      let (key, value) = InstructionWords.firstWord(arguments)
      guard !value.isEmpty else {
        throw ParseFailure("\(keyword) must have two arguments", hint: usage(keyword))
      }
      return [(key, value)]
    }
    var pairs: [(key: String, value: String)] = []
    for word in words {
      guard let equals = word.firstIndex(of: "=") else {
        throw ParseFailure(
          "Syntax error - can't find = in \"\(word)\". Must be of the form: name=value",
          hint: "quote values with spaces: \(keyword) name=\"a b\"")
      }
      let key = String(word[..<equals])
      guard !key.isEmpty else {
        throw ParseFailure("\(keyword) names can not be blank", hint: usage(keyword))
      }
      pairs.append((key, String(word[word.index(after: equals)...])))
    }
    return pairs
  }

  private static func argDefinitions(_ arguments: String, escape: Character) throws(ParseFailure)
    -> [ArgDefinition]
  {
    let words = InstructionWords.quoteAware(arguments, escape: escape)
    guard !words.isEmpty else { throw atLeastOneArgument("ARG") }
    var definitions: [ArgDefinition] = []
    for word in words {
      guard let equals = word.firstIndex(of: "=") else {
        definitions.append(ArgDefinition(name: word, defaultValue: nil))
        continue
      }
      let name = String(word[..<equals])
      guard !name.isEmpty else {
        throw ParseFailure("ARG names can not be blank", hint: usage("ARG"))
      }
      definitions.append(
        ArgDefinition(name: name, defaultValue: String(word[word.index(after: equals)...])))
    }
    return definitions
  }

  private static let durationOptions: Set<String> = [
    "interval", "timeout", "start-period", "start-interval",
  ]

  private static func healthcheck(_ arguments: String, options: [InstructionFlag])
    throws(ParseFailure) -> HealthcheckDefinition?
  {
    let (type, rest) = InstructionWords.firstWord(arguments)
    guard !type.isEmpty else { throw atLeastOneArgument("HEALTHCHECK") }
    switch type.uppercased() {
    case "NONE":
      guard rest.isEmpty else {
        throw ParseFailure("HEALTHCHECK NONE takes no arguments", hint: usage("HEALTHCHECK"))
      }
      return nil
    case "CMD":
      for option in options {
        let value = option.value ?? ""
        if durationOptions.contains(option.name) {
          guard let seconds = GoDuration.seconds(value) else {
            throw ParseFailure(
              "time: invalid duration \"\(value)\"",
              hint: "write durations such as 30s, 1m30s, 500ms")
          }
          guard seconds == 0 || seconds >= 0.001 else {
            throw ParseFailure(
              "Interval \"\(option.name)\" cannot be less than 1ms", hint: "use at least 1ms, or 0")
          }
        } else if option.name == "retries" {
          guard let retries = Int32(value) else {
            throw ParseFailure(
              "invalid value for --retries: \"\(value)\"", hint: "--retries takes a whole number")
          }
          guard retries >= 0 else {
            throw ParseFailure("--retries cannot be negative (\(retries))", hint: "use 0 or more")
          }
        }
      }
      let command = try commandForm(rest)
      guard let command, command != .exec([]) else {
        throw ParseFailure("Missing command after HEALTHCHECK CMD", hint: usage("HEALTHCHECK"))
      }
      return HealthcheckDefinition(options: options, command: command)
    default:
      throw ParseFailure(
        "Unknown type \"\(type.uppercased())\" in HEALTHCHECK (try CMD)", hint: usage("HEALTHCHECK")
      )
    }
  }

  /// The trigger as written after ONBUILD, with any heredoc bodies appended
  /// as docker stores them, so a child build can parse it again. The
  /// trigger is parsed now too, so its mistakes show at this line.
  private static func onbuildTrigger(
    _ logical: LogicalInstruction, arguments: String, escape: Character
  ) throws(ParseFailure) -> String {
    let trigger = InstructionWords.firstWord(arguments).word.uppercased()
    guard !trigger.isEmpty else { throw atLeastOneArgument("ONBUILD") }
    switch trigger {
    case "ONBUILD":
      throw ParseFailure(
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", hint: "give ONBUILD one instruction"
      )
    case "FROM", "MAINTAINER":
      throw ParseFailure(
        "\(trigger) isn't allowed as an ONBUILD trigger", hint: "give ONBUILD another instruction")
    default:
      break
    }
    let nested = LogicalInstruction(
      line: logical.line, text: arguments, heredocs: logical.heredocs)
    _ = try parseUnlocated(nested, escape: escape)
    var text = arguments
    for heredoc in logical.heredocs {
      text += "\n" + heredoc.content + heredoc.name
    }
    return text
  }

  // MARK: - Errors

  private static let notStringArray = ParseFailure(
    "when using JSON array syntax, arrays must be comprised of strings only",
    hint: "quote every element: [\"echo\", \"1\"]")

  private static func atLeastOneArgument(_ keyword: String) -> ParseFailure {
    ParseFailure("\(keyword) requires at least one argument", hint: usage(keyword))
  }

  private static func unknownInstruction(_ keyword: String) -> ParseFailure {
    let closest = keywords.map { (keyword: $0, distance: editDistance($0, keyword)) }
      .min { $0.distance < $1.distance }
    let hint =
      if let closest, closest.distance <= 2 {
        "did you mean \(closest.keyword)?"
      } else {
        "instructions are \(keywords.joined(separator: ", "))"
      }
    return ParseFailure("unknown instruction: \(keyword)", hint: hint)
  }

  private static func usage(_ keyword: String) -> String {
    switch keyword {
    case "FROM": "write FROM [--platform=P] IMAGE [AS NAME]"
    case "RUN": "write RUN COMMAND or RUN [\"executable\", \"arg\"]"
    case "SHELL": "write SHELL [\"executable\", \"arg\"]"
    case "COPY", "ADD": "write \(keyword) SOURCE... DESTINATION"
    case "ENV", "LABEL": "write \(keyword) key=value ..."
    case "ARG": "write ARG name or ARG name=default"
    case "EXPOSE": "write EXPOSE PORT[/PROTOCOL] ..."
    case "VOLUME": "write VOLUME /path or VOLUME [\"/path\"]"
    case "HEALTHCHECK": "write HEALTHCHECK [OPTIONS] CMD COMMAND, or HEALTHCHECK NONE"
    case "ONBUILD": "write ONBUILD INSTRUCTION"
    default: "write \(keyword) VALUE"
    }
  }

  /// Levenshtein distance, for "did you mean" on a mistyped keyword.
  private static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1]
      for (j, y) in b.enumerated() {
        current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
      }
      previous = current
    }
    return previous[b.count]
  }
}
