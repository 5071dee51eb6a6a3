// Docker's Dockerfile grammar: parser directives at the top (`# syntax=`,
// `# escape=`), comments, continuations with the escape character (comment
// and blank lines inside one are skipped), `--flag=value`s before the
// arguments, JSON (exec) or shell form, ENV/LABEL pairs, here-documents
// after RUN/COPY/ADD. Every error names the file and the line.
import BerthSystem
import FoundationEssentials

extension Containerfile {
  static let keywords: Set<String> = [
    "FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
  ]

  /// Flags each instruction accepts (docker rejects the others).
  static let allowedFlags: [String: Set<String>] = [
    "FROM": ["platform"],
    "RUN": ["mount", "network", "security"],
    "COPY": ["from", "chown", "chmod", "link", "exclude", "parents"],
    "ADD": ["chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "parents"],
    "HEALTHCHECK": ["interval", "timeout", "start-period", "start-interval", "retries"],
  ]

  public static func parse(_ text: String, fileName: String) throws(BerthError) -> Containerfile {
    var file = Containerfile()
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
    }
    var index = 0
    // Directives: `# name=value` lines before anything else.
    while index < lines.count {
      let line = lines[index].trimmingCharacters(in: .whitespaces)
      guard line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { break }
      let name = line.dropFirst().prefix(upTo: equals).trimmingCharacters(in: .whitespaces)
        .lowercased()
      let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
      guard name == "syntax" || name == "escape" || name == "check" else { break }
      if name == "escape" {
        guard value == "\\" || value == "`" else {
          throw BerthError(
            .invalidArgument, "\(fileName):\(index + 1): invalid escape character \(value)",
            hint: "use \\ or `")
        }
        file.escape = Character(value)
      } else if name == "syntax" {
        file.syntax = value
      }
      index += 1
    }
    var sawContent = false
    while index < lines.count {
      let first = index + 1
      let trimmed = lines[index].trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") {
        index += 1
        continue
      }
      // Join continuations.
      var logical = ""
      var line = lines[index]
      index += 1
      while true {
        let right = line.trimmingTrailingWhitespace()
        if right.last == file.escape {
          logical += String(right.dropLast())
          while index < lines.count {
            let next = lines[index].trimmingCharacters(in: .whitespaces)
            if next.hasPrefix("#") || next.isEmpty { index += 1 } else { break }
          }
          guard index < lines.count else { break }
          line = lines[index]
          index += 1
        } else {
          logical += line
          break
        }
      }
      let text = logical.trimmingCharacters(in: .whitespaces)
      let keywordEnd = text.firstIndex(where: \.isWhitespace) ?? text.endIndex
      let keyword = text[..<keywordEnd].uppercased()
      let rest = String(text[keywordEnd...]).trimmingCharacters(in: .whitespaces)
      func fail(_ message: String, hint: String? = nil) -> BerthError {
        BerthError(.invalidArgument, "\(fileName):\(first): \(message)", hint: hint)
      }
      guard keywords.contains(keyword) else {
        throw fail(
          "unknown instruction: \(text[..<keywordEnd])",
          hint: "instructions are " + keywords.sorted().joined(separator: ", "))
      }
      // Here-documents follow the instruction line.
      var heredocs: [Heredoc] = []
      if keyword == "RUN" || keyword == "COPY" || keyword == "ADD" {
        for (name, quoted, strips) in heredocNames(rest) {
          var body: [String] = []
          var closed = false
          while index < lines.count {
            var bodyLine = lines[index]
            index += 1
            if strips { bodyLine = String(bodyLine.drop(while: { $0 == "\t" })) }
            if bodyLine == name {
              closed = true
              break
            }
            body.append(bodyLine)
          }
          guard closed else { throw fail("here-document \(name) is not terminated") }
          heredocs.append(
            Heredoc(
              name: name, content: body.map { $0 + "\n" }.joined(), expands: !quoted,
              stripsTabs: strips))
        }
      }
      if keyword == "FROM" {
        sawContent = true
        let (flags, arguments) = try splitFlags(rest, keyword: keyword, fail: fail)
        let words = arguments.split(whereSeparator: \.isWhitespace).map(String.init)
        guard !words.isEmpty else { throw fail("FROM requires at least one argument") }
        var name: String?
        if words.count == 3, words[1].uppercased() == "AS" {
          let candidate = words[2].lowercased()
          guard
            candidate.first.map({ $0.isLetter }) == true,
            candidate.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
          else {
            throw fail(
              "invalid stage name \"\(words[2])\"",
              hint: "start with a letter; use letters, digits, - _ .")
          }
          guard !file.stages.contains(where: { $0.name == candidate }) else {
            throw fail("duplicate stage name \"\(candidate)\"")
          }
          name = candidate
        } else if words.count != 1 {
          throw fail("FROM takes an image and an optional AS name", hint: "FROM image [AS name]")
        }
        file.stages.append(
          Stage(
            index: file.stages.count, name: name, base: words[0],
            platform: flags.first { $0.name == "platform" }?.value, line: first))
        continue
      }
      let instruction = try parseInstruction(
        keyword: keyword, rest: rest, heredocs: heredocs, line: first, text: text,
        escape: file.escape, fail: fail)
      if file.stages.isEmpty {
        guard case .arg(let definitions) = instruction.command else {
          throw fail("\(keyword) before the first FROM", hint: "only ARG may come before FROM")
        }
        file.globalArgs += definitions
        sawContent = true
        continue
      }
      file.stages[file.stages.count - 1].instructions.append(instruction)
    }
    guard sawContent else {
      throw BerthError(
        .invalidArgument, "\(fileName) is empty", hint: "a Containerfile starts with FROM")
    }
    guard !file.stages.isEmpty else {
      throw BerthError(
        .invalidArgument, "\(fileName) has no FROM", hint: "a Containerfile starts with FROM")
    }
    return file
  }

  /// `<<EOF`, `<<-EOF`, `<<"EOF"` in an instruction's text.
  static func heredocNames(_ text: String) -> [(String, Bool, Bool)] {
    var result: [(String, Bool, Bool)] = []
    var rest = Substring(text)
    while let range = rest.range(of: "<<") {
      var after = rest[range.upperBound...]
      var strips = false
      if after.first == "-" {
        strips = true
        after = after.dropFirst()
      }
      var quoted = false
      var quote: Character?
      if let first = after.first, first == "\"" || first == "'" {
        quoted = true
        quote = first
        after = after.dropFirst()
      }
      let name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
      rest = after[name.endIndex...]
      if let quote, rest.first == quote { rest = rest.dropFirst() }
      if !name.isEmpty { result.append((String(name), quoted, strips)) }
    }
    return result
  }

  static func splitFlags(
    _ rest: String, keyword: String, fail: (String, String?) -> BerthError
  ) throws(BerthError) -> ([InstructionFlag], String) {
    var flags: [InstructionFlag] = []
    var remaining = Substring(rest)
    while remaining.hasPrefix("--") {
      let end = remaining.firstIndex(where: \.isWhitespace) ?? remaining.endIndex
      let token = remaining[remaining.index(remaining.startIndex, offsetBy: 2)..<end]
      let parts = token.split(separator: "=", maxSplits: 1).map(String.init)
      guard let name = parts.first, !name.isEmpty else { break }
      guard allowedFlags[keyword]?.contains(name) == true else {
        throw fail(
          "unknown flag: \(name)",
          "\(keyword) takes "
            + (allowedFlags[keyword].map { $0.sorted().map { "--" + $0 }.joined(separator: ", ") }
              ?? "no flags"))
      }
      flags.append(InstructionFlag(name: name, value: parts.count == 2 ? parts[1] : nil))
      remaining = remaining[end...].drop(while: \.isWhitespace)
    }
    return (flags, String(remaining))
  }

  static func jsonArray(_ text: String) -> [String]? {
    guard text.hasPrefix("[") else { return nil }
    return try? JSONDecoder().decode([String].self, from: Data(text.utf8))
  }

  static func form(_ text: String) -> CommandForm {
    jsonArray(text).map(CommandForm.exec) ?? .shell(text)
  }

  static func parseInstruction(
    keyword: String, rest: String, heredocs: [Heredoc], line: Int, text: String,
    escape: Character, fail: (String, String?) -> BerthError
  ) throws(BerthError) -> Instruction {
    let (flags, arguments) = try splitFlags(rest, keyword: keyword, fail: fail)
    func need(_ ok: Bool, _ what: String) throws(BerthError) {
      if !ok { throw fail("\(keyword) requires \(what)", nil) }
    }
    let command: Command
    switch keyword {
    case "RUN":
      try need(!arguments.isEmpty, "at least one argument")
      command = .run(form(arguments))
    case "CMD", "ENTRYPOINT":
      let value = form(arguments)
      command = keyword == "CMD" ? .cmd(value) : .entrypoint(value)
    case "SHELL":
      guard let words = jsonArray(arguments), !words.isEmpty else {
        throw fail(
          "SHELL requires the arguments to be in JSON form", "e.g. SHELL [\"/bin/sh\", \"-c\"]")
      }
      command = .shell(words)
    case "COPY", "ADD":
      let words = jsonArray(arguments) ?? ShellWords.rawWords(arguments, escape: escape)
      try need(words.count >= 2, "at least two arguments: a source and a destination")
      let sources = Array(words.dropLast())
      command =
        keyword == "COPY"
        ? .copy(sources: sources, destination: words[words.count - 1])
        : .add(sources: sources, destination: words[words.count - 1])
    case "ENV", "LABEL":
      let words = ShellWords.rawWords(arguments, escape: escape)
      try need(!words.isEmpty, "at least one argument")
      var pairs: [(key: String, value: String)] = []
      if keyword == "ENV", let first = words.first, !first.contains("=") {
        // The old form: ENV NAME the rest of the line.
        let value = arguments.dropFirst(first.count).trimmingCharacters(in: .whitespaces)
        try need(!value.isEmpty, "a value for \(first)")
        pairs.append((first, value))
      } else {
        for word in words {
          guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
            throw fail("\(keyword) expects KEY=VALUE, got \"\(word)\"", nil)
          }
          pairs.append((String(word[..<equals]), String(word[word.index(after: equals)...])))
        }
      }
      command = keyword == "ENV" ? .env(pairs) : .label(pairs)
    case "ARG":
      let words = ShellWords.rawWords(arguments, escape: escape)
      try need(!words.isEmpty, "at least one argument")
      command = .arg(
        words.map { word in
          if let equals = word.firstIndex(of: "=") {
            return ArgDefinition(
              name: String(word[..<equals]),
              defaultValue: String(word[word.index(after: equals)...]))
          }
          return ArgDefinition(name: word, defaultValue: nil)
        })
    case "WORKDIR", "USER", "STOPSIGNAL", "MAINTAINER":
      try need(!arguments.isEmpty, "exactly one argument")
      switch keyword {
      case "WORKDIR": command = .workdir(arguments)
      case "USER": command = .user(arguments)
      case "STOPSIGNAL": command = .stopSignal(arguments)
      default: command = .maintainer(arguments)
      }
    case "EXPOSE":
      let words = ShellWords.rawWords(arguments, escape: escape)
      try need(!words.isEmpty, "at least one argument")
      command = .expose(words)
    case "VOLUME":
      let words = jsonArray(arguments) ?? ShellWords.rawWords(arguments, escape: escape)
      try need(!words.isEmpty, "at least one argument")
      command = .volume(words)
    case "HEALTHCHECK":
      let upper = arguments.uppercased()
      if upper == "NONE" {
        command = .healthcheck(nil)
      } else {
        guard upper.hasPrefix("CMD") else {
          throw fail("HEALTHCHECK takes CMD or NONE", "e.g. HEALTHCHECK --interval=30s CMD true")
        }
        let body = arguments.dropFirst(3).trimmingCharacters(in: .whitespaces)
        try need(!body.isEmpty, "a command after CMD")
        command = .healthcheck(HealthcheckDefinition(options: flags, command: form(body)))
      }
    case "ONBUILD":
      let trigger =
        arguments.split(separator: " ", maxSplits: 1).first.map { $0.uppercased() } ?? ""
      try need(!trigger.isEmpty, "an instruction")
      guard !["ONBUILD", "FROM", "MAINTAINER"].contains(trigger) else {
        throw fail("\(trigger) is not allowed as an ONBUILD trigger", nil)
      }
      guard keywords.contains(trigger) else { throw fail("unknown instruction: \(trigger)", nil) }
      command = .onbuild(arguments)
    default:
      throw fail("unknown instruction: \(keyword)", nil)
    }
    return Instruction(
      keyword: keyword, flags: keyword == "HEALTHCHECK" ? [] : flags, command: command,
      heredocs: heredocs, line: line, text: text)
  }
}

extension String {
  func trimmingTrailingWhitespace() -> Substring {
    var end = endIndex
    while end > startIndex, self[index(before: end)].isWhitespace { end = index(before: end) }
    return self[..<end]
  }
}
