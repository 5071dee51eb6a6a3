import BerthSystem

/// Docker's build-time shell-word processing (buildkit's shell lexer): quote
/// removal, the escape character, and `$VAR`/`${VAR...}` expansion, with
/// unquoted whitespace separating words. Not a shell: no globbing, no
/// command substitution, no arithmetic.
struct ShellLexer {
  private let characters: [Character]
  private var position = 0
  private let escape: Character
  /// Keep quotes in the output (heredoc detection reads words as written).
  var rawQuotes = false
  /// Keep escape characters in the output.
  var rawEscapes = false
  /// Leave `$NAME` as written when `lookup` has no value (heredoc names).
  var keepsUnset = false

  init(_ text: String, escape: Character) {
    characters = Array(text)
    self.escape = escape
  }

  /// The whole text as one word, and the same text split into words.
  mutating func process(lookup: (String) -> String?) throws(BerthError) -> (
    word: String, words: [String]
  ) {
    let (word, collector, _) = try read(until: nil, rawEscapes: rawEscapes, lookup: lookup)
    return (word, collector.finished())
  }

  private var current: Character? {
    position < characters.count ? characters[position] : nil
  }

  private mutating func advance() -> Character? {
    guard position < characters.count else { return nil }
    defer { position += 1 }
    return characters[position]
  }

  /// Reads to `stop` (consumed) or the end; `found` tells which.
  private mutating func read(
    until stop: Character?, rawEscapes: Bool, lookup: (String) -> String?
  ) throws(BerthError) -> (text: String, words: WordCollector, found: Bool) {
    var text = ""
    var words = WordCollector()
    while let character = current {
      if let stop, character == stop {
        position += 1
        return (text, words, true)
      }
      switch character {
      case "'":
        let quoted = try singleQuoted()
        text += quoted
        words.addRaw(quoted)
      case "\"":
        let quoted = try doubleQuoted(lookup: lookup)
        text += quoted
        words.addRaw(quoted)
      case "$":
        let value = try dollar(lookup: lookup)
        text += value
        // An unquoted variable's value splits into words, as in a shell.
        words.add(value)
      default:
        position += 1
        guard character == escape else {
          text.append(character)
          words.add(character)
          continue
        }
        if rawEscapes {
          text.append(character)
          words.addRaw(character)
        }
        // An escape at the very end escapes nothing and is dropped.
        guard let escaped = advance() else { break }
        text.append(escaped)
        words.addRaw(escaped)
      }
    }
    return (text, words, false)
  }

  /// `'...'`: everything literal up to the next `'`; nothing escapes it.
  private mutating func singleQuoted() throws(BerthError) -> String {
    position += 1
    var text = rawQuotes ? "'" : ""
    while let character = advance() {
      if character == "'" {
        if rawQuotes { text.append("'") }
        return text
      }
      text.append(character)
    }
    throw BerthError(
      .invalidArgument, "unexpected end of statement while looking for matching single-quote",
      hint: "close the ' quote")
  }

  /// `"..."`: `$` expands; the escape character escapes only `"`, `$` and
  /// itself, and stays as written before anything else.
  private mutating func doubleQuoted(lookup: (String) -> String?) throws(BerthError) -> String {
    position += 1
    var text = rawQuotes ? "\"" : ""
    while let character = current {
      if character == "\"" {
        position += 1
        if rawQuotes { text.append("\"") }
        return text
      }
      if character == "$" {
        text += try dollar(lookup: lookup)
        continue
      }
      position += 1
      if character == escape, let next = current, next == "\"" || next == "$" || next == escape {
        if rawEscapes { text.append(character) }
        text.append(next)
        position += 1
        continue
      }
      text.append(character)
    }
    throw BerthError(
      .invalidArgument, "unexpected end of statement while looking for matching double-quote",
      hint: "close the \" quote")
  }

  /// `$` at the current position: a name, a `${...}` form, or a lone `$`.
  private mutating func dollar(lookup: (String) -> String?) throws(BerthError) -> String {
    position += 1
    guard current == "{" else {
      let name = readName()
      if name.isEmpty { return "$" }
      let value = lookup(name)
      if value == nil && keepsUnset { return "$" + name }
      return value ?? ""
    }
    position += 1
    guard let first = current else { throw Self.missingBrace }
    if first == "{" || first == "}" || first == ":" { throw Self.badSubstitution }
    let name = readName()
    guard let operation = advance() else { throw Self.missingBrace }
    switch operation {
    case "}":
      let value = lookup(name)
      if value == nil && keepsUnset { return "${\(name)}" }
      return value ?? ""
    case ":", "-", "+", "?", "#", "%":
      return try modifier(operation, name: name, lookup: lookup)
    case "/":
      return try substitution(name: name, lookup: lookup)
    default:
      if name.isEmpty { throw Self.badSubstitution }
      throw Self.unsupported(String(operation))
    }
  }

  /// `${NAME-word}`, `:-`, `+`, `:+`, `?`, `:?`, `#`, `##`, `%`, `%%`.
  private mutating func modifier(
    _ operation: Character, name: String, lookup: (String) -> String?
  ) throws(BerthError) -> String {
    var kind = operation
    var written = String(operation)
    // With `:`, an empty value counts as unset.
    let emptyIsUnset = operation == ":"
    if emptyIsUnset {
      guard let next = advance() else { throw Self.missingBrace }
      kind = next
      written.append(next)
    }
    // Patterns keep their escapes so `\*` stays a literal star.
    let isPattern = kind == "#" || kind == "%"
    if emptyIsUnset && isPattern { throw Self.unsupported(written) }
    let (word, _, found) = try read(until: "}", rawEscapes: isPattern, lookup: lookup)
    guard found else { throw Self.missingBrace }
    let value = lookup(name)
    if value == nil && keepsUnset { return "${\(name)\(written)\(word)}" }
    let isUnset = value == nil || (emptyIsUnset && value == "")
    switch kind {
    case "-":
      return isUnset ? word : (value ?? "")
    case "+":
      return isUnset ? "" : word
    case "?":
      guard let value, !isUnset else {
        let reason = value == nil ? "is not allowed to be unset" : "is not allowed to be empty"
        throw BerthError(
          .invalidArgument, "\(name): \(word.isEmpty ? reason : word)",
          hint: "set \(name) (ARG or ENV, or --build-arg)")
      }
      return value
    case "#", "%":
      var pattern = word
      let longest = pattern.first == kind
      if longest { pattern.removeFirst() }
      let glob = GlobPattern.shell(pattern)
      return kind == "#"
        ? glob.removingPrefix(of: value ?? "", longest: longest)
        : glob.removingSuffix(of: value ?? "", longest: longest)
    default:
      throw Self.unsupported(written)
    }
  }

  /// `${NAME/pattern/replacement}` (first match) and `${NAME//pattern/replacement}` (all).
  private mutating func substitution(name: String, lookup: (String) -> String?) throws(BerthError)
    -> String
  {
    let replacesAll = current == "/"
    if replacesAll { position += 1 }
    let (pattern, _, foundSlash) = try read(until: "/", rawEscapes: true, lookup: lookup)
    guard foundSlash else {
      throw BerthError(
        .invalidArgument, "syntax error: missing '/' in ${}",
        hint: "write ${NAME/pattern/replacement}")
    }
    let (replacement, _, found) = try read(until: "}", rawEscapes: false, lookup: lookup)
    guard found else { throw Self.missingBrace }
    guard let value = lookup(name) else {
      return keepsUnset ? "${\(name)/\(pattern)/\(replacement)}" : ""
    }
    return GlobPattern.shell(pattern).replacing(in: value, with: replacement, all: replacesAll)
  }

  /// A variable name: letters, digits and `_`; or digits alone (`$1`); or one
  /// special parameter (`$@`, `$$`...), which docker accepts and finds unset.
  private mutating func readName() -> String {
    guard let first = current else { return "" }
    if first.isASCII && first.isNumber {
      var digits = ""
      while let character = current, character.isASCII, character.isNumber {
        digits.append(character)
        position += 1
      }
      return digits
    }
    if "@*#?-$!".contains(first) {
      position += 1
      return String(first)
    }
    var name = ""
    while let character = current, character.isLetter || character.isNumber || character == "_" {
      name.append(character)
      position += 1
    }
    return name
  }

  private static let missingBrace = BerthError(
    .invalidArgument, "syntax error: missing '}'", hint: "close the ${ with }")
  private static let badSubstitution = BerthError(
    .invalidArgument, "syntax error: bad substitution", hint: "write ${NAME} or ${NAME:-default}")

  private static func unsupported(_ modifier: String) -> BerthError {
    BerthError(
      .invalidArgument, "unsupported modifier (\(modifier)) in substitution",
      hint: "use one of :- - :+ + :? ? # ## % %% / //")
  }
}

/// Collects words as the lexer goes: unquoted whitespace ends a word, quoted
/// text (even empty) and escaped characters never do.
private struct WordCollector {
  private var words: [String] = []
  private var word = ""

  mutating func add(_ character: Character) {
    if character.isWhitespace {
      if !word.isEmpty {
        words.append(word)
        word = ""
      }
    } else {
      word.append(character)
    }
  }

  mutating func add(_ text: String) {
    for character in text { add(character) }
  }

  mutating func addRaw(_ character: Character) { word.append(character) }
  mutating func addRaw(_ text: String) { word += text }

  /// Docker drops empty words, so `""` alone yields none.
  func finished() -> [String] {
    word.isEmpty ? words : words + [word]
  }
}
