/// The `# name=value` comments at the very top of a Containerfile. Docker
/// reads them until the first line that is not one (an instruction, a blank
/// line, an ordinary comment, or a directive it does not know), so a
/// directive further down is just a comment.
struct ParserDirectives {
  var escape: Character = "\\"
  var syntax: String?

  /// The directives docker knows; `check` (lint settings) is accepted and ignored.
  private static let known: Set<String> = ["syntax", "escape", "check"]

  static func read(_ lines: [SourceLine]) throws(ParseFailure) -> ParserDirectives {
    var directives = ParserDirectives()
    var seen: Set<String> = []
    for line in lines {
      guard let (key, value) = directive(in: line.text), known.contains(key) else { break }
      guard seen.insert(key).inserted else {
        throw ParseFailure(
          "only one \(key) parser directive can be used", hint: "remove the repeated # \(key)=",
          line: line.number)
      }
      switch key {
      case "escape":
        guard value == "\\" || value == "`" else {
          throw ParseFailure(
            "invalid escape token '\(value)' does not match ` or \\",
            hint: "use # escape=\\ or # escape=`", line: line.number)
        }
        directives.escape = value == "`" ? "`" : "\\"
      case "syntax":
        directives.syntax = value
      default:
        break
      }
    }
    return directives
  }

  /// `# key = value` after optional leading whitespace: the key a letter
  /// then letters or digits (lowercased: directives are case-insensitive),
  /// the value non-empty with surrounding whitespace dropped.
  static func directive(in text: String) -> (key: String, value: String)? {
    var rest = text.droppingLeadingWhitespace
    guard rest.first == "#" else { return nil }
    rest = rest.dropFirst().drop(while: \.isWhitespace)
    guard let first = rest.first, first.isASCII, first.isLetter else { return nil }
    let key = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber) }
    rest = rest.dropFirst(key.count).drop(while: \.isWhitespace)
    guard rest.first == "=" else { return nil }
    let value = rest.dropFirst().trimmedWhitespace
    guard !value.isEmpty else { return nil }
    return (key.lowercased(), value)
  }
}
