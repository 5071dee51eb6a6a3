import BerthSystem

/// A parse error before it knows where it happened: the instruction parser
/// adds the line, `Containerfile.parse` the file name, so the messages inside
/// stay docker's (`unknown flag: foo`) and the user still gets `file:line:`.
struct ParseFailure: Error {
  var message: String
  var hint: String?
  var line: Int?

  init(_ message: String, hint: String? = nil, line: Int? = nil) {
    self.message = message
    self.hint = hint
    self.line = line
  }

  func at(line: Int) -> ParseFailure {
    var located = self
    if located.line == nil { located.line = line }
    return located
  }

  func berthError(fileName: String) -> BerthError {
    let location = line.map { "\(fileName):\($0)" } ?? fileName
    return BerthError(.invalidArgument, "\(location): \(message)", hint: hint)
  }
}

extension StringProtocol {
  /// The text without leading and trailing whitespace (no Foundation here).
  var trimmedWhitespace: String {
    String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
  }

  var droppingLeadingWhitespace: Substring.SubSequence {
    Substring(self).drop(while: \.isWhitespace)
  }
}
