/// A compiled glob: the shell patterns of `${VAR#pattern}` and the path
/// patterns of `.dockerignore`. One matcher serves both; they differ in
/// whether `*` may cross a `/` and in what `**` means. Hand-written:
/// fnmatch(3) has no `**`, and docker's `${VAR%pattern}` needs the
/// shortest and longest matching prefix or suffix, not a yes or no.
struct GlobPattern: Sendable, Equatable {
  enum Token: Sendable, Equatable {
    case literal(Character)
    /// `*`: any run of characters without the separator.
    case anyRun
    /// `?`: one character, not the separator.
    case anyOne
    /// `[...]` / `[^...]`: one character, not the separator.
    case set(negated: Bool, members: [ClosedRange<Character>])
    /// `**/` (and `**` before more pattern): nothing, or anything ending in a separator.
    case anyDirectories
    /// A trailing `**`: anything at all.
    case anything
  }

  var tokens: [Token]
  /// `/` for paths; nil for shell patterns, where `*` matches anything.
  var separator: Character?

  /// A shell pattern: `*`, `?`, `[...]`, the escape `\`; a `[` with no
  /// closing `]` is an ordinary character.
  static func shell(_ pattern: String) -> GlobPattern {
    var scanner = PatternScanner(Array(pattern))
    var tokens: [Token] = []
    while let character = scanner.next() {
      switch character {
      case "*": tokens.append(.anyRun)
      case "?": tokens.append(.anyOne)
      case "\\": tokens.append(.literal(scanner.next() ?? "\\"))
      case "[":
        if let set = scanner.set() { tokens.append(set) } else { tokens.append(.literal("[")) }
      default: tokens.append(.literal(character))
      }
    }
    return GlobPattern(tokens: tokens, separator: nil)
  }

  /// A `.dockerignore` pattern (docker's patternmatcher): `*` and `?` stay
  /// within one path element, `**/` spans any number of directories, a
  /// trailing `**` matches everything below. nil when a `[` is not closed,
  /// which docker rejects as a bad pattern.
  static func path(_ pattern: String) -> GlobPattern? {
    var scanner = PatternScanner(Array(pattern))
    var tokens: [Token] = []
    while let character = scanner.next() {
      switch character {
      case "*":
        guard scanner.peek() == "*" else {
          tokens.append(.anyRun)
          continue
        }
        _ = scanner.next()
        if scanner.peek() == "/" { _ = scanner.next() }
        tokens.append(scanner.peek() == nil ? .anything : .anyDirectories)
      case "?": tokens.append(.anyOne)
      case "\\": tokens.append(.literal(scanner.next() ?? "\\"))
      case "[":
        guard let set = scanner.set() else { return nil }
        tokens.append(set)
      default: tokens.append(.literal(character))
      }
    }
    return GlobPattern(tokens: tokens, separator: "/")
  }

  func matches(_ text: String) -> Bool { matches(Array(text)) }

  func matches<C: Collection>(_ text: C) -> Bool where C.Element == Character {
    var matcher = Matcher(tokens: tokens, text: Array(text), separator: separator)
    return matcher.matches(token: 0, at: 0)
  }

  /// `${VAR#pattern}` / `${VAR##pattern}`: the value without the shortest
  /// (longest) prefix the pattern matches; unchanged when none does.
  func removingPrefix(of value: String, longest: Bool) -> String {
    let characters = Array(value)
    let ends = longest ? Array((0...characters.count).reversed()) : Array(0...characters.count)
    for end in ends where matches(characters[..<end]) {
      return String(characters[end...])
    }
    return value
  }

  /// `${VAR%pattern}` / `${VAR%%pattern}`: the same at the end.
  func removingSuffix(of value: String, longest: Bool) -> String {
    let characters = Array(value)
    let starts = longest ? Array(0...characters.count) : Array((0...characters.count).reversed())
    for start in starts where matches(characters[start...]) {
      return String(characters[..<start])
    }
    return value
  }

  /// `${VAR/pattern/replacement}`: the leftmost longest non-empty match
  /// replaced, or every such match when `all`.
  func replacing(in value: String, with replacement: String, all: Bool) -> String {
    let characters = Array(value)
    var result = ""
    var start = 0
    var replaced = false
    while start < characters.count {
      if !(replaced && !all),
        let end = (start + 1...characters.count).reversed().first(where: {
          matches(characters[start..<$0])
        })
      {
        result += replacement
        start = end
        replaced = true
      } else {
        result.append(characters[start])
        start += 1
      }
    }
    return result
  }
}

/// Walks a pattern's characters; knows the `[...]` syntax.
private struct PatternScanner {
  let characters: [Character]
  var position = 0

  init(_ characters: [Character]) { self.characters = characters }

  func peek() -> Character? { position < characters.count ? characters[position] : nil }

  mutating func next() -> Character? {
    guard position < characters.count else { return nil }
    defer { position += 1 }
    return characters[position]
  }

  /// After a `[`: members and ranges up to `]`, `^` first negating, `\`
  /// escaping. nil (and the position left alone) when there is no `]` or
  /// no member.
  mutating func set() -> GlobPattern.Token? {
    let start = position
    var negated = false
    if peek() == "^" {
      negated = true
      position += 1
    }
    var members: [ClosedRange<Character>] = []
    while let character = next() {
      if character == "]" && !members.isEmpty {
        return .set(negated: negated, members: members)
      }
      var low = character
      if low == "\\" {
        guard let escaped = next() else { break }
        low = escaped
      }
      var high = low
      if peek() == "-", position + 1 < characters.count, characters[position + 1] != "]" {
        position += 1
        guard var end = next() else { break }
        if end == "\\" {
          guard let escaped = next() else { break }
          end = escaped
        }
        high = end
      }
      guard low <= high else { break }
      members.append(low...high)
    }
    position = start
    return nil
  }
}

/// Backtracking match with a memo of failed (token, position) pairs, so
/// several stars stay polynomial.
private struct Matcher {
  let tokens: [GlobPattern.Token]
  let text: [Character]
  let separator: Character?
  var failed: Set<Int> = []

  init(tokens: [GlobPattern.Token], text: [Character], separator: Character?) {
    self.tokens = tokens
    self.text = text
    self.separator = separator
  }

  mutating func matches(token: Int, at index: Int) -> Bool {
    if token == tokens.count { return index == text.count }
    let key = token * (text.count + 1) + index
    if failed.contains(key) { return false }
    let result = step(token: token, at: index)
    if !result { failed.insert(key) }
    return result
  }

  private mutating func step(token: Int, at index: Int) -> Bool {
    switch tokens[token] {
    case .literal(let character):
      return index < text.count && text[index] == character
        && matches(token: token + 1, at: index + 1)
    case .anyOne:
      return index < text.count && text[index] != separator
        && matches(token: token + 1, at: index + 1)
    case .set(let negated, let members):
      guard index < text.count, text[index] != separator else { return false }
      let inSet = members.contains { $0.contains(text[index]) }
      return inSet != negated && matches(token: token + 1, at: index + 1)
    case .anyRun:
      var end = index
      while true {
        if matches(token: token + 1, at: end) { return true }
        if end == text.count || text[end] == separator { return false }
        end += 1
      }
    case .anything:
      return (index...text.count).contains { matches(token: token + 1, at: $0) }
    case .anyDirectories:
      if matches(token: token + 1, at: index) { return true }
      return (index..<text.count).contains {
        text[$0] == (separator ?? "/") && matches(token: token + 1, at: $0 + 1)
      }
    }
  }
}
