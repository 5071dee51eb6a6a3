/// One physical line of a Containerfile, its line ending removed.
struct SourceLine {
  var number: Int
  var text: String
  /// False only for a last line with no newline: a heredoc body keeps the
  /// file's final newline or its absence.
  var endsWithNewline: Bool

  /// Splits on "\n" by scalar (a Swift `Character` would glue "\r\n"
  /// together) and drops a "\r" before it, so CRLF files parse like LF ones.
  static func lines(of text: String) -> [SourceLine] {
    var lines: [SourceLine] = []
    var current = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
      if scalar == "\n" {
        lines.append(
          SourceLine(number: lines.count + 1, text: line(current), endsWithNewline: true))
        current = String.UnicodeScalarView()
      } else {
        current.append(scalar)
      }
    }
    if !current.isEmpty {
      lines.append(SourceLine(number: lines.count + 1, text: line(current), endsWithNewline: false))
    }
    // A byte-order mark is not part of the first instruction or directive.
    if let first = lines.first, first.text.unicodeScalars.first == "\u{FEFF}" {
      lines[0].text = String(String.UnicodeScalarView(first.text.unicodeScalars.dropFirst()))
    }
    return lines
  }

  private static func line(_ scalars: String.UnicodeScalarView) -> String {
    if scalars.last == "\r" { return String(String.UnicodeScalarView(scalars.dropLast())) }
    return String(scalars)
  }
}
