/// Which `--flags` each instruction takes, and docker's checks on them.
enum InstructionFlags {
  enum Kind {
    /// `--name=value`, at most once.
    case string
    /// `--name`, `--name=true|false`, at most once.
    case bool
    /// `--name=value`, repeatable.
    case strings
  }

  static func allowed(for keyword: String) -> [String: Kind] {
    switch keyword {
    case "FROM": ["platform": .string]
    case "RUN": ["mount": .strings, "network": .string, "security": .string]
    case "COPY":
      [
        "from": .string, "chown": .string, "chmod": .string, "link": .bool, "parents": .bool,
        "exclude": .strings,
      ]
    case "ADD":
      [
        "chown": .string, "chmod": .string, "link": .bool, "keep-git-dir": .bool,
        "checksum": .string, "exclude": .strings,
      ]
    case "HEALTHCHECK":
      [
        "interval": .string, "timeout": .string, "start-period": .string,
        "start-interval": .string, "retries": .string,
      ]
    default: [:]
    }
  }

  /// The flags as the builder reads them. A boolean flag is kept bare
  /// (value nil) when true and dropped when `=false`, so `hasFlag` is its value.
  static func parse(_ words: [String], keyword: String) throws(ParseFailure) -> [InstructionFlag] {
    let allowed = allowed(for: keyword)
    var flags: [InstructionFlag] = []
    var seen: Set<String> = []
    for word in words {
      guard word.hasPrefix("--") else {
        throw ParseFailure("arg should start with -- : \(word)")
      }
      let body = word.dropFirst(2)
      let equals = body.firstIndex(of: "=")
      let name = String(equals.map { body[..<$0] } ?? body)
      let value = equals.map { String(body[body.index(after: $0)...]) }
      guard let kind = allowed[name] else {
        let known = allowed.keys.sorted().map { "--\($0)" }.joined(separator: ", ")
        throw ParseFailure(
          "unknown flag: \(name)",
          hint: known.isEmpty ? "\(keyword) takes no flags" : "\(keyword) takes \(known)")
      }
      guard seen.insert(name).inserted || kind == .strings else {
        throw ParseFailure("duplicate flag specified: \(name)", hint: "give --\(name) once")
      }
      switch kind {
      case .bool:
        switch value?.lowercased() {
        case nil, "true":
          flags.append(InstructionFlag(name: name, value: nil))
        case "false":
          break
        case "":
          throw ParseFailure(
            "missing a value on flag: \(name)", hint: "write --\(name) or --\(name)=true")
        case let other?:
          throw ParseFailure(
            "expecting boolean value for flag \(name), not: \(other)", hint: "use true or false")
        }
      case .string, .strings:
        guard let value else {
          throw ParseFailure("missing a value on flag: \(name)", hint: "write --\(name)=VALUE")
        }
        flags.append(InstructionFlag(name: name, value: value))
      }
    }
    return flags
  }
}
