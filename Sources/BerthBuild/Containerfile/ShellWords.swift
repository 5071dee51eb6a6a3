import BerthSystem

/// Docker's build-time word processing, applied to an instruction's words
/// with the ARG and ENV values a step sees (buildkit's shell lexer rules).
///
/// - `'...'` is literal; `"..."` expands `$` and lets the escape character
///   escape `"`, `$` and itself; outside quotes the escape character makes
///   the next character literal.
/// - `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`,
///   `${NAME+word}`, `${NAME:?message}`, `${NAME?message}`, `${NAME#glob}`,
///   `${NAME##glob}`, `${NAME%glob}`, `${NAME%%glob}`, `${NAME/glob/word}`,
///   `${NAME//glob/word}`. An unset name expands to "".
public enum ShellWords {
  /// One word, quotes removed and variables expanded (ENV values, WORKDIR,
  /// USER, COPY paths...). `lookup` returns nil for an unset variable.
  public static func expand(
    _ word: String, escape: Character = "\\", lookup: (String) -> String?
  ) throws(BerthError) -> String {
    var lexer = ShellLexer(word, escape: escape)
    return try lexer.process(lookup: lookup).word
  }

  /// The text expanded and split into words on unquoted whitespace
  /// (docker's ProcessWords, for EXPOSE, VOLUME's shell form and the like).
  /// A variable's value outside quotes splits too; empty words are dropped.
  public static func split(
    _ text: String, escape: Character = "\\", lookup: (String) -> String?
  ) throws(BerthError) -> [String] {
    var lexer = ShellLexer(text, escape: escape)
    return try lexer.process(lookup: lookup).words
  }
}
