import BerthSystem
import Testing

@testable import BerthBuild

private let shellVariables = [
  "NAME": "world", "EMPTY": "", "PATHS": "/usr/local/bin:/usr/bin", "SPACED": "a  b",
  "FILE": "archive.tar.gz",
]

private func expand(_ word: String, escape: Character = "\\") throws -> String {
  try ShellWords.expand(word, escape: escape) { shellVariables[$0] }
}

private func expansionError(_ word: String) -> String? {
  do {
    _ = try ShellWords.expand(word) { shellVariables[$0] }
    return nil
  } catch {
    return error.message
  }
}

@Suite struct ShellWordsTests {
  @Test func variables() throws {
    #expect(try expand("hello $NAME") == "hello world")
    #expect(try expand("${NAME}s") == "worlds")
    #expect(try expand("$NAMEs") == "")
    #expect(try expand("$UNSET-x") == "-x")
    #expect(try expand("cost: $5 and $") == "cost:  and $")
    #expect(try expand("a$") == "a$")
  }

  @Test func quotes() throws {
    #expect(try expand("'$NAME'") == "$NAME")
    #expect(try expand("\"$NAME\"") == "world")
    #expect(try expand("\"it's\"") == "it's")
    #expect(try expand("'say \"hi\"'") == "say \"hi\"")
    #expect(try expand("a\"b c\"d") == "ab cd")
  }

  @Test func escapes() throws {
    #expect(try expand("\\$NAME") == "$NAME")
    #expect(try expand("a\\ b") == "a b")
    #expect(try expand("\"\\$NAME \\\" \\\\ \\n\"") == "$NAME \" \\ \\n")
    #expect(try expand("'\\n'") == "\\n")
    #expect(try expand("trailing\\") == "trailing")
  }

  @Test func backtickEscape() throws {
    #expect(try expand("`$NAME", escape: "`") == "$NAME")
    #expect(try expand("c:\\dir", escape: "`") == "c:\\dir")
    #expect(try expand("\"`\"q`\"\"", escape: "`") == "\"q\"")
  }

  @Test func defaultsAndAlternatives() throws {
    #expect(try expand("${UNSET:-fallback}") == "fallback")
    #expect(try expand("${EMPTY:-fallback}") == "fallback")
    #expect(try expand("${EMPTY-fallback}") == "")
    #expect(try expand("${UNSET-fallback}") == "fallback")
    #expect(try expand("${NAME:-fallback}") == "world")
    #expect(try expand("${NAME:+set}") == "set")
    #expect(try expand("${EMPTY:+set}") == "")
    #expect(try expand("${EMPTY+set}") == "set")
    #expect(try expand("${UNSET+set}") == "")
    #expect(try expand("${UNSET:-$NAME and 'more'}") == "world and more")
  }

  @Test func requiredVariables() throws {
    #expect(try expand("${NAME:?needed}") == "world")
    #expect(try expand("${EMPTY?needed}") == "")
    #expect(expansionError("${UNSET:?set UNSET first}") == "UNSET: set UNSET first")
    #expect(expansionError("${EMPTY:?}") == "EMPTY: is not allowed to be empty")
    #expect(expansionError("${UNSET?}") == "UNSET: is not allowed to be unset")
  }

  @Test func patternRemoval() throws {
    #expect(try expand("${FILE#*.}") == "tar.gz")
    #expect(try expand("${FILE##*.}") == "gz")
    #expect(try expand("${FILE%.*}") == "archive.tar")
    #expect(try expand("${FILE%%.*}") == "archive")
    #expect(try expand("${PATHS#*/}") == "usr/local/bin:/usr/bin")
    #expect(try expand("${FILE#nomatch}") == "archive.tar.gz")
    #expect(try expand("${FILE%\\.gz}") == "archive.tar")
  }

  @Test func substitution() throws {
    #expect(try expand("${PATHS/usr/opt}") == "/opt/local/bin:/usr/bin")
    #expect(try expand("${PATHS//usr/opt}") == "/opt/local/bin:/opt/bin")
    #expect(try expand("${FILE/.*/}") == "archive")
  }

  @Test func syntaxErrors() {
    #expect(expansionError("${NAME") == "syntax error: missing '}'")
    #expect(expansionError("${}") == "syntax error: bad substitution")
    #expect(expansionError("${:-x}") == "syntax error: bad substitution")
    #expect(expansionError("${NAME:1}") == "unsupported modifier (:1) in substitution")
    #expect(expansionError("${NAME:#x}") == "unsupported modifier (:#) in substitution")
    #expect(
      expansionError("'open")
        == "unexpected end of statement while looking for matching single-quote")
    #expect(
      expansionError("\"open")
        == "unexpected end of statement while looking for matching double-quote")
  }

  @Test func splitKeepsQuotedWhitespaceAndSplitsUnquotedValues() throws {
    let words = try ShellWords.split("80/tcp  \"a b\" $SPACED \"$SPACED\" '' x\\ y", escape: "\\") {
      shellVariables[$0]
    }
    #expect(words == ["80/tcp", "a b", "a", "b", "a  b", "x y"])
    #expect(try ShellWords.split("   ", escape: "\\") { _ in nil } == [])
  }
}
