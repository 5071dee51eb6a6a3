// Docker's build-time word processing: quote removal, the escape
// character, and `$VAR` / `${VAR}` / `${VAR:-default}` / `${VAR-default}` /
// `${VAR:+alt}` / `${VAR+alt}` / `${VAR:?message}` expansion. Hand-written:
// this is a small, fixed lexer with docker's own rules, not POSIX sh.
import BerthSystem

public enum ShellWords {
  /// One word, quotes removed and variables expanded.
  public static func expand(
    _ word: String, escape: Character, lookup: @escaping (String) -> String?
  ) throws(BerthError) -> String {
    var lexer = Lexer(Array(word), escape: escape, lookup: lookup)
    return try lexer.words(split: false).joined()
  }

  /// Expanded and split into words on whitespace outside quotes.
  public static func split(
    _ text: String, escape: Character, lookup: @escaping (String) -> String?
  ) throws(BerthError) -> [String] {
    var lexer = Lexer(Array(text), escape: escape, lookup: lookup)
    return try lexer.words(split: true)
  }

  /// Splits on whitespace outside quotes, keeping quotes and escapes as
  /// written (for ENV/LABEL pairs, expanded later).
  static func rawWords(_ text: String, escape: Character) -> [String] {
    var words: [String] = []
    var current = ""
    var quote: Character?
    var escaped = false
    var started = false
    for character in text {
      if escaped {
        current.append(character)
        escaped = false
        continue
      }
      if character == escape && quote != "'" {
        current.append(character)
        escaped = true
        started = true
        continue
      }
      if let open = quote {
        if character == open { quote = nil }
        current.append(character)
        continue
      }
      if character == "\"" || character == "'" {
        quote = character
        current.append(character)
        started = true
        continue
      }
      if character.isWhitespace {
        if started { words.append(current) }
        current = ""
        started = false
        continue
      }
      current.append(character)
      started = true
    }
    if started { words.append(current) }
    return words
  }

  struct Lexer {
    let chars: [Character]
    let escape: Character
    let lookup: (String) -> String?
    var index = 0

    init(_ chars: [Character], escape: Character, lookup: @escaping (String) -> String?) {
      self.chars = chars
      self.escape = escape
      self.lookup = lookup
    }

    mutating func words(split: Bool) throws(BerthError) -> [String] {
      var words: [String] = []
      var current = ""
      var started = false
      while index < chars.count {
        let character = chars[index]
        if split && character.isWhitespace {
          if started { words.append(current) }
          current = ""
          started = false
          index += 1
          continue
        }
        started = true
        if character == escape {
          index += 1
          if index < chars.count {
            current.append(chars[index])
            index += 1
          }
        } else if character == "'" {
          index += 1
          while index < chars.count && chars[index] != "'" {
            current.append(chars[index])
            index += 1
          }
          guard index < chars.count else { throw unterminated("'") }
          index += 1
        } else if character == "\"" {
          index += 1
          while index < chars.count && chars[index] != "\"" {
            if chars[index] == escape, index + 1 < chars.count,
              "\"$`".contains(chars[index + 1]) || chars[index + 1] == escape
            {
              current.append(chars[index + 1])
              index += 2
            } else if chars[index] == "$" {
              current += try variable()
            } else {
              current.append(chars[index])
              index += 1
            }
          }
          guard index < chars.count else { throw unterminated("\"") }
          index += 1
        } else if character == "$" {
          current += try variable()
        } else {
          current.append(character)
          index += 1
        }
      }
      if started || !split { words.append(current) }
      return words
    }

    func unterminated(_ quote: String) -> BerthError {
      BerthError(
        .invalidArgument, "unterminated \(quote) in \(String(chars))", hint: "close the quote")
    }

    static func isNameCharacter(_ c: Character) -> Bool {
      c.isASCII && (c.isLetter || c.isNumber || c == "_")
    }

    /// At `$`: the expansion of `$NAME` or `${...}` (a lone `$` is itself).
    mutating func variable() throws(BerthError) -> String {
      index += 1
      guard index < chars.count else { return "$" }
      if chars[index] != "{" {
        var name = ""
        while index < chars.count && Self.isNameCharacter(chars[index]) {
          name.append(chars[index])
          index += 1
        }
        return name.isEmpty ? "$" : lookup(name) ?? ""
      }
      index += 1
      var name = ""
      while index < chars.count && Self.isNameCharacter(chars[index]) {
        name.append(chars[index])
        index += 1
      }
      guard index < chars.count, !name.isEmpty else {
        throw BerthError(.invalidArgument, "bad substitution in \(String(chars))")
      }
      if chars[index] == "}" {
        index += 1
        return lookup(name) ?? ""
      }
      var colon = false
      if chars[index] == ":" {
        colon = true
        index += 1
      }
      guard index < chars.count, "-+?".contains(chars[index]) else {
        throw BerthError(
          .invalidArgument, "unsupported substitution in \(String(chars))",
          hint: "use ${VAR}, ${VAR:-default}, ${VAR:+alternative} or ${VAR:?message}")
      }
      let operation = chars[index]
      index += 1
      // The word up to the matching brace, itself expanded.
      var depth = 1
      var word: [Character] = []
      while index < chars.count {
        if chars[index] == "{" { depth += 1 }
        if chars[index] == "}" {
          depth -= 1
          if depth == 0 { break }
        }
        word.append(chars[index])
        index += 1
      }
      guard index < chars.count else {
        throw BerthError(.invalidArgument, "missing } in \(String(chars))")
      }
      index += 1
      let value = lookup(name)
      let isSet = colon ? !(value ?? "").isEmpty : value != nil
      var inner = Lexer(word, escape: escape, lookup: lookup)
      switch operation {
      case "-": return isSet ? value ?? "" : try inner.words(split: false).joined()
      case "+": return isSet ? try inner.words(split: false).joined() : ""
      default:
        guard isSet else {
          let message = try inner.words(split: false).joined()
          throw BerthError(
            .invalidArgument, "\(name): \(message.isEmpty ? "parameter not set" : message)",
            hint: "pass it with --build-arg \(name)=VALUE")
        }
        return value ?? ""
      }
    }
  }
}
