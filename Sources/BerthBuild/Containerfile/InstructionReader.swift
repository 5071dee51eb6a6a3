/// An instruction as docker's parser sees it: continuation lines joined,
/// comments and empty lines inside the continuation dropped, and the bodies
/// of its heredocs read from the lines after it.
struct LogicalInstruction {
  var line: Int
  var text: String
  var heredocs: [Heredoc]
}

/// Reads a Containerfile's lines into instructions, one at a time.
struct InstructionReader {
  private let lines: [SourceLine]
  private let escape: Character
  private var next = 0

  init(lines: [SourceLine], escape: Character) {
    self.lines = lines
    self.escape = escape
  }

  mutating func read() throws(ParseFailure) -> LogicalInstruction? {
    while next < lines.count {
      let first = lines[next]
      next += 1
      let start = first.text.droppingLeadingWhitespace
      // Comments (parser directives included) and blank lines.
      if start.hasPrefix("#") { continue }
      var (text, continues) = joinable(String(start))
      if !continues && text.isEmpty { continue }
      while continues && next < lines.count {
        let line = lines[next]
        next += 1
        // Docker skips these inside a continuation rather than ending it.
        let lineStart = line.text.droppingLeadingWhitespace
        if lineStart.hasPrefix("#") || lineStart.isEmpty { continue }
        let (part, more) = joinable(line.text)
        text += part
        continues = more
      }
      if text.trimmedWhitespace.isEmpty { continue }
      let heredocs = try readHeredocs(of: text, line: first.number)
      return LogicalInstruction(line: first.number, text: text, heredocs: heredocs)
    }
    return nil
  }

  /// The line without a trailing escape character (and blanks after it),
  /// and whether there was one.
  private func joinable(_ line: String) -> (text: String, continues: Bool) {
    let body = line.reversed().drop { $0 == " " || $0 == "\t" }
    guard body.first == escape else { return (line, false) }
    return (String(body.dropFirst().reversed()), true)
  }

  /// Only RUN, COPY and ADD (also as an ONBUILD trigger) take heredocs.
  private static let heredocKeywords: Set<String> = ["RUN", "COPY", "ADD"]

  private mutating func readHeredocs(of text: String, line: Int) throws(ParseFailure) -> [Heredoc] {
    guard text.contains("<<") else { return [] }
    let words = text.split(whereSeparator: \.isWhitespace).prefix(2).map { $0.uppercased() }
    let keyword = words.first == "ONBUILD" && words.count > 1 ? words[1] : words.first
    guard let keyword, Self.heredocKeywords.contains(keyword) else { return [] }
    var heredocs: [Heredoc] = []
    for marker in HeredocMarker.all(in: text) {
      var content = ""
      var terminated = false
      while next < lines.count {
        let bodyLine = lines[next]
        next += 1
        let body = marker.stripsTabs ? String(bodyLine.text.drop { $0 == "\t" }) : bodyLine.text
        if body == marker.name {
          terminated = true
          break
        }
        content += body + (bodyLine.endsWithNewline ? "\n" : "")
      }
      guard terminated else {
        throw ParseFailure(
          "unterminated heredoc",
          hint: "end the here-document with a line that is just \(marker.name)",
          line: line)
      }
      heredocs.append(
        Heredoc(
          name: marker.name, content: content, expands: marker.expands,
          stripsTabs: marker.stripsTabs))
    }
    return heredocs
  }
}
