/// A `<<NAME` word on an instruction line (docker: `[digits]<<[-]word`).
struct HeredocMarker: Equatable {
  var name: String
  var expands: Bool
  var stripsTabs: Bool

  /// The heredoc a single word introduces, if any. The word is as written:
  /// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, `2<<EOF`.
  init?(word: String) {
    var rest = Substring(word).drop { $0.isASCII && $0.isNumber }
    guard rest.hasPrefix("<<") else { return nil }
    rest = rest.dropFirst(2)
    stripsTabs = rest.first == "-"
    if stripsTabs { rest = rest.dropFirst() }
    guard !rest.isEmpty, !rest.contains("<") else { return nil }
    // The name is the word with its quotes removed; any quote there means
    // the body is taken literally, as in a shell.
    var unquoted = ShellLexer(String(rest), escape: "\\")
    unquoted.keepsUnset = true
    var raw = ShellLexer(String(rest), escape: "\\")
    raw.keepsUnset = true
    raw.rawQuotes = true
    guard let words = try? unquoted.process(lookup: { _ in nil }).words, words.count == 1,
      let rawWords = try? raw.process(lookup: { _ in nil }).words, rawWords.count == 1
    else { return nil }
    name = words[0]
    expands = Self.quoteCount(words[0]) == Self.quoteCount(rawWords[0])
  }

  /// The markers on a whole instruction line, in order. The line is split
  /// as a shell would (quotes and `\` kept) so `echo "<<EOF"` has none.
  static func all(in line: String) -> [HeredocMarker] {
    var lexer = ShellLexer(line, escape: "\\")
    lexer.rawQuotes = true
    lexer.rawEscapes = true
    lexer.keepsUnset = true
    guard let words = try? lexer.process(lookup: { _ in nil }).words else { return [] }
    return words.compactMap(HeredocMarker.init(word:))
  }

  private static func quoteCount(_ text: String) -> Int {
    text.count(where: { $0 == "'" || $0 == "\"" })
  }
}
