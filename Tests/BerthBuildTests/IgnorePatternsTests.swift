import Testing

@testable import BerthBuild

@Suite struct IgnorePatternsTests {
  @Test func linesAreCleanedAndCommentsSkipped() {
    let ignore = IgnorePatterns(
      text: """
        \u{FEFF}# a comment after a byte-order mark
          /build/
        ./docs//old/../api

        !  keep.txt
        """)
    #expect(ignore.patterns == ["build", "docs/api", "!keep.txt"])
  }

  @Test func starAndQuestionMarkStayInOnePathElement() {
    let ignore = IgnorePatterns(text: "*.log\ntmp?\nsrc/*/gen")
    #expect(ignore.excludes("app.log"))
    #expect(!ignore.excludes("logs/app.log"))
    #expect(ignore.excludes("tmp1"))
    #expect(!ignore.excludes("tmp12"))
    #expect(ignore.excludes("src/a/gen"))
    #expect(!ignore.excludes("src/a/b/gen"))
  }

  @Test func characterClasses() {
    let ignore = IgnorePatterns(text: "file[0-9].txt\nx[^a]")
    #expect(ignore.excludes("file7.txt"))
    #expect(!ignore.excludes("fileA.txt"))
    #expect(ignore.excludes("xb"))
    #expect(!ignore.excludes("xa"))
  }

  @Test func aMatchedDirectoryExcludesEverythingBelowIt() {
    let ignore = IgnorePatterns(text: "node_modules\nbuild/")
    #expect(ignore.excludes("node_modules"))
    #expect(ignore.excludes("node_modules/left-pad/index.js"))
    #expect(ignore.excludes("build/out/a.o"))
    #expect(!ignore.excludes("src/node_modules"))
    #expect(!ignore.excludes("builder"))
  }

  @Test func doubleStarSpansDirectories() {
    let ignore = IgnorePatterns(text: "**/*.pyc\ndocs/**\na/**/z")
    #expect(ignore.excludes("x.pyc"))
    #expect(ignore.excludes("pkg/sub/x.pyc"))
    #expect(ignore.excludes("docs/a/b.md"))
    #expect(ignore.excludes("a/z"))
    #expect(ignore.excludes("a/b/c/z"))
    #expect(!ignore.excludes("b/z"))
  }

  @Test func laterPatternsWinAndBangReincludes() {
    let ignore = IgnorePatterns(text: "*.md\n!README*.md\nREADME-secret.md")
    #expect(ignore.excludes("CHANGES.md"))
    #expect(!ignore.excludes("README.md"))
    #expect(ignore.excludes("README-secret.md"))
  }

  @Test func reincludeUnderAnExcludedDirectory() {
    let ignore = IgnorePatterns(text: "vendor\n!vendor/keep/**\n!vendor/keep")
    #expect(ignore.excludes("vendor"))
    #expect(ignore.excludes("vendor/drop/x.go"))
    #expect(!ignore.excludes("vendor/keep"))
    #expect(!ignore.excludes("vendor/keep/x.go"))
    #expect(ignore.mayReinclude(under: "vendor"))
    #expect(!ignore.mayReinclude(under: "vendor/drop"))
  }

  @Test func mayReincludeOnlyWhenABangPatternCouldReachBelow() {
    #expect(!IgnorePatterns(text: "build").mayReinclude(under: "build"))
    #expect(!IgnorePatterns(text: "*\n!src").mayReinclude(under: "docs"))
    #expect(IgnorePatterns(text: "*\n!src").mayReinclude(under: "src/sub"))
    #expect(IgnorePatterns(text: "*\n!**/*.go").mayReinclude(under: "anything/at/all"))
    #expect(IgnorePatterns(text: "*\n!*/keep").mayReinclude(under: "pkg"))
    #expect(!IgnorePatterns(text: "*\n!*/keep").mayReinclude(under: "pkg/deeper"))
  }

  @Test func escapesAndTheRoot() {
    let ignore = IgnorePatterns(text: "\\*literal\n*")
    #expect(ignore.excludes("anything"))
    #expect(!ignore.excludes("."))
    #expect(IgnorePatterns(text: "\\*literal").excludes("*literal"))
    #expect(!IgnorePatterns(text: "\\*literal").excludes("xliteral"))
  }

  @Test func badPatternsAreDropped() {
    let ignore = IgnorePatterns(text: "!\nfile[\nok")
    #expect(ignore.patterns == ["ok"])
  }

  @Test func pathsAreCleaned() {
    #expect(IgnorePatterns.clean("a//b/./c/") == "a/b/c")
    #expect(IgnorePatterns.clean("../a/../../b") == "../../b")
    #expect(IgnorePatterns.clean("/../a") == "/a")
    #expect(IgnorePatterns.clean("") == ".")
    #expect(IgnorePatterns(text: "a").excludes("./a/b"))
  }
}
