import BerthSystem
import Testing

@testable import BerthBuild

/// Parses `text` as "Containerfile"; the test fails on a parse error.
private func parse(_ text: String) throws -> Containerfile {
  try Containerfile.parse(text, fileName: "Containerfile")
}

/// The single instruction of a one-stage file.
private func only(_ text: String) throws -> Instruction {
  let file = try parse("FROM alpine\n" + text)
  let instructions = file.stages.first?.instructions ?? []
  try #require(instructions.count == 1)
  return instructions[0]
}

/// The error message parsing `text` gives, or nil when it parses.
private func failure(_ text: String) -> String? {
  do {
    _ = try Containerfile.parse(text, fileName: "Containerfile")
    return nil
  } catch {
    return error.message
  }
}

@Suite struct ContainerfileStagesTests {
  @Test func stagesTakeBaseNamePlatformAndLine() throws {
    let file = try parse(
      """
      FROM --platform=$BUILDPLATFORM golang:1.22 AS Build
      RUN go build

      FROM scratch
      COPY --from=build /out /app
      """)
    #expect(file.stages.count == 2)
    #expect(file.stages[0].name == "build")
    #expect(file.stages[0].base == "golang:1.22")
    #expect(file.stages[0].platform == "$BUILDPLATFORM")
    #expect(file.stages[0].line == 1)
    #expect(file.stages[1].index == 1)
    #expect(file.stages[1].name == nil)
    #expect(file.stages[1].base == "scratch")
    #expect(file.stages[1].line == 4)
    #expect(file.stages[1].instructions.first?.flagValues("from") == ["build"])
  }

  @Test func argsBeforeTheFirstFromAreGlobal() throws {
    let file = try parse("ARG VERSION=3.19 OTHER\nFROM alpine:$VERSION\nARG VERSION\n")
    #expect(
      file.globalArgs == [
        ArgDefinition(name: "VERSION", defaultValue: "3.19"),
        ArgDefinition(name: "OTHER", defaultValue: nil),
      ])
    #expect(file.stages[0].base == "alpine:$VERSION")
    #expect(
      file.stages[0].instructions.first?.command
        == .arg([ArgDefinition(name: "VERSION", defaultValue: nil)]))
  }

  @Test func stageRulesAreDockers() {
    #expect(
      failure("RUN true\nFROM alpine")
        == "Containerfile:1: no build stage in current context: RUN comes before the first FROM")
    #expect(failure("ARG A\n") == "Containerfile: no build stage: the file has no FROM instruction")
    #expect(failure("") == "Containerfile: file with no instructions")
    #expect(failure("# just a comment\n\n") == "Containerfile: file with no instructions")
    #expect(failure("FROM a AS x\nFROM b AS X\n") == "Containerfile:2: duplicate stage name \"x\"")
    #expect(
      failure("FROM a AS 1st\n")?.hasPrefix(
        "Containerfile:1: invalid name for build stage: \"1st\"") == true)
    #expect(failure("FROM a AS scratch\n") == "Containerfile:1: scratch is a reserved stage name")
    #expect(failure("FROM a b\n") == "Containerfile:1: FROM requires either one or three arguments")
    #expect(
      failure("FROM a TO b\n") == "Containerfile:1: FROM requires either one or three arguments")
    #expect(failure("\n\nFROM\n") == "Containerfile:3: FROM requires at least one argument")
  }

  @Test func errorsNameFileLineAndGiveAHint() {
    do {
      _ = try Containerfile.parse("FROM alpine\n\nRUNN true\n", fileName: "Dockerfile.dev")
      Issue.record("parsed")
    } catch {
      #expect(error.code == .invalidArgument)
      #expect(error.message == "Dockerfile.dev:3: unknown instruction: RUNN")
      #expect(error.hint == "did you mean RUN?")
    }
  }
}

@Suite struct ContainerfileLinesTests {
  @Test func keywordsAreCaseInsensitiveAndTextIsKept() throws {
    let instruction = try only("  run   echo hi  ")
    #expect(instruction.keyword == "RUN")
    #expect(instruction.command == .run(.shell("echo hi")))
    #expect(instruction.text == "run   echo hi")
    #expect(instruction.line == 2)
  }

  @Test func continuationsJoinAndKeepTheFirstLine() throws {
    let file = try parse(
      """
      FROM alpine
      RUN apk add \\
          curl \\   
          git
      USER nobody
      """)
    let instructions = file.stages[0].instructions
    #expect(instructions[0].command == .run(.shell("apk add     curl     git")))
    #expect(instructions[0].text == "RUN apk add     curl     git")
    #expect(instructions[0].line == 2)
    #expect(instructions[1].line == 5)
  }

  @Test func commentsAndEmptyLinesInsideAContinuationAreSkipped() throws {
    let instruction = try only(
      """
      RUN echo a \\
        # not part of the command

          b
      """)
    #expect(instruction.command == .run(.shell("echo a     b")))
  }

  @Test func commentsAndBlankLinesAreIgnored() throws {
    let file = try parse(
      "# comment\n\nFROM alpine\n   # indented comment\n\t\nRUN x # not a comment\n")
    #expect(file.stages[0].instructions.map(\.text) == ["RUN x # not a comment"])
    #expect(file.stages[0].instructions[0].line == 6)
  }

  @Test func crlfLinesParseLikeLf() throws {
    let file = try parse("FROM alpine\r\nRUN a \\\r\n b\r\n")
    #expect(file.stages[0].instructions[0].command == .run(.shell("a  b")))
  }

  @Test func aLineEndingInAnEscapedBackslashStillContinues() throws {
    // Docker's rule: a trailing escape character continues the line, whatever precedes it.
    let instruction = try only("RUN echo \\\\\n x")
    #expect(instruction.command == .run(.shell("echo \\ x")))
  }
}

@Suite struct ContainerfileDirectivesTests {
  @Test func syntaxAndEscapeAreRead() throws {
    let file = try parse(
      """
      # syntax=docker/dockerfile:1
      # ESCAPE = `
      FROM mcr.microsoft.com/windows
      RUN dir c:\\ `
        /s
      """)
    #expect(file.syntax == "docker/dockerfile:1")
    #expect(file.escape == "`")
    #expect(file.stages[0].instructions[0].command == .run(.shell("dir c:\\   /s")))
  }

  @Test func directivesStopAtTheFirstOtherLine() throws {
    #expect(try parse("# comment\n# escape=`\nFROM a\n").escape == "\\")
    #expect(try parse("\n# escape=`\nFROM a\n").escape == "\\")
    #expect(try parse("# unknown=x\n# escape=`\nFROM a\n").escape == "\\")
    #expect(try parse("FROM a\n# escape=`\n").escape == "\\")
  }

  @Test func badDirectivesAreErrors() {
    #expect(
      failure("# escape=x\nFROM a")
        == "Containerfile:1: invalid escape token 'x' does not match ` or \\")
    #expect(
      failure("# escape=`\n# escape=\\\nFROM a")
        == "Containerfile:2: only one escape parser directive can be used")
  }
}

@Suite struct ContainerfileFlagsTests {
  @Test func flagsComeBeforeArguments() throws {
    let instruction = try only(
      "RUN --mount=type=cache,target=/root/.cache --network=none --mount=type=tmpfs,target=/t make --jobs=2"
    )
    #expect(
      instruction.flagValues("mount") == ["type=cache,target=/root/.cache", "type=tmpfs,target=/t"])
    #expect(instruction.flagValues("network") == ["none"])
    #expect(instruction.command == .run(.shell("make --jobs=2")))
  }

  @Test func copyFlagsIncludingBareBooleans() throws {
    let instruction = try only(
      "COPY --from=build --chown=1000:1000 --chmod=755 --link --exclude=*.md --exclude=.git --parents a b /dst/"
    )
    #expect(
      instruction.flags == [
        InstructionFlag(name: "from", value: "build"),
        InstructionFlag(name: "chown", value: "1000:1000"),
        InstructionFlag(name: "chmod", value: "755"),
        InstructionFlag(name: "link", value: nil),
        InstructionFlag(name: "exclude", value: "*.md"),
        InstructionFlag(name: "exclude", value: ".git"),
        InstructionFlag(name: "parents", value: nil),
      ])
    #expect(instruction.command == .copy(sources: ["a", "b"], destination: "/dst/"))
  }

  @Test func falseBooleanFlagsAreDroppedAndQuotesRemoved() throws {
    let instruction = try only("ADD --link=false --keep-git-dir=true --checksum=\"sha256:ab\" u /d")
    #expect(
      instruction.flags == [
        InstructionFlag(name: "keep-git-dir", value: nil),
        InstructionFlag(name: "checksum", value: "sha256:ab"),
      ])
  }

  @Test func flagErrorsAreDockers() {
    #expect(failure("FROM a\nCOPY --foo=1 a b") == "Containerfile:2: unknown flag: foo")
    #expect(failure("FROM a\nENV --x=1 a=b") == "Containerfile:2: unknown flag: x")
    #expect(failure("FROM a\nCOPY --from a b") == "Containerfile:2: missing a value on flag: from")
    #expect(
      failure("FROM a\nCOPY --from=x --from=y a b")
        == "Containerfile:2: duplicate flag specified: from")
    #expect(
      failure("FROM a\nCOPY --link=maybe a b")
        == "Containerfile:2: expecting boolean value for flag link, not: maybe")
    #expect(failure("FROM --platfrom=x a") == "Containerfile:1: unknown flag: platfrom")
  }

  @Test func aDoubleDashEndsTheFlags() throws {
    let instruction = try only("RUN -- --not-a-flag")
    #expect(instruction.flags.isEmpty)
    #expect(instruction.command == .run(.shell("--not-a-flag")))
  }
}

@Suite struct ContainerfileFormsTests {
  @Test func execAndShellForms() throws {
    #expect(
      try only(#"RUN ["/bin/sh", "-c", "echo \"hi\" \u00e9"]"#).command
        == .run(.exec(["/bin/sh", "-c", "echo \"hi\" é"])))
    #expect(
      try only("CMD [\"nginx\", \"-g\", \"daemon off;\"]").command
        == .cmd(.exec(["nginx", "-g", "daemon off;"])))
    #expect(try only("ENTRYPOINT exec top -b").command == .entrypoint(.shell("exec top -b")))
    #expect(try only("CMD []").command == .cmd(.exec([])))
    #expect(try only("CMD").command == .cmd(.shell("")))
  }

  @Test func invalidJSONIsTheShellForm() throws {
    #expect(
      try only("RUN [ -f /etc/passwd ] && echo ok").command
        == .run(.shell("[ -f /etc/passwd ] && echo ok")))
    #expect(try only("CMD ['single', 'quotes']").command == .cmd(.shell("['single', 'quotes']")))
    #expect(try only("CMD [\"a\"] trailing").command == .cmd(.shell("[\"a\"] trailing")))
  }

  @Test func aJSONArrayOfNonStringsIsAnError() {
    #expect(
      failure("FROM a\nCMD [\"a\", 1]")
        == "Containerfile:2: when using JSON array syntax, arrays must be comprised of strings only"
    )
    #expect(failure("FROM a\nVOLUME [{\"a\": [1, true, null]}]")?.hasSuffix("strings only") == true)
  }

  @Test func shellNeedsJSON() throws {
    #expect(
      try only("SHELL [\"powershell\", \"-command\"]").command
        == .shell(["powershell", "-command"]))
    #expect(
      failure("FROM a\nSHELL /bin/bash -c")
        == "Containerfile:2: SHELL requires the arguments to be in JSON form")
    #expect(failure("FROM a\nSHELL []") == "Containerfile:2: SHELL requires at least one argument")
  }

  @Test func copyAndAddTakeJSONOrWords() throws {
    #expect(
      try only("COPY [\"a b.txt\", \"/dst dir/\"]").command
        == .copy(sources: ["a b.txt"], destination: "/dst dir/"))
    // Quotes mean nothing in the word form, as in docker.
    #expect(try only("ADD \"a b\" /d").command == .add(sources: ["\"a", "b\""], destination: "/d"))
    #expect(try only("COPY  a\tb  c").command == .copy(sources: ["a", "b"], destination: "c"))
    #expect(
      failure("FROM a\nCOPY onlyone")?.hasPrefix(
        "Containerfile:2: COPY requires at least two arguments") == true)
  }

  @Test func simpleInstructions() throws {
    #expect(try only("WORKDIR /app dir").command == .workdir("/app dir"))
    #expect(try only("USER 1000:1000").command == .user("1000:1000"))
    #expect(try only("STOPSIGNAL SIGTERM").command == .stopSignal("SIGTERM"))
    #expect(
      try only("MAINTAINER Jane <jane@example.com>").command
        == .maintainer("Jane <jane@example.com>"))
    #expect(
      try only("EXPOSE 80/tcp  $PORT 53/udp").command == .expose(["80/tcp", "$PORT", "53/udp"]))
    #expect(try only("VOLUME /a /b").command == .volume(["/a", "/b"]))
    #expect(try only("VOLUME [\"/data\"]").command == .volume(["/data"]))
    #expect(failure("FROM a\nWORKDIR") == "Containerfile:2: WORKDIR requires exactly one argument")
    #expect(failure("FROM a\nEXPOSE") == "Containerfile:2: EXPOSE requires at least one argument")
    #expect(
      failure("FROM a\nVOLUME [\"\"]")
        == "Containerfile:2: VOLUME specified can not be an empty string")
    #expect(failure("FROM a\nRUN") == "Containerfile:2: RUN requires at least one argument")
  }
}

@Suite struct ContainerfileKeyValueTests {
  @Test func envPairsKeepQuotesForLaterExpansion() throws {
    let instruction = try only(#"ENV A=1 B="two words" C='$x' D=a\ b E="""#)
    guard case .env(let pairs) = instruction.command else {
      Issue.record("not ENV")
      return
    }
    #expect(pairs.map(\.key) == ["A", "B", "C", "D", "E"])
    #expect(pairs.map(\.value) == ["1", "\"two words\"", "'$x'", "a\\ b", "\"\""])
  }

  @Test func legacyEnvTakesTheRestOfTheLine() throws {
    #expect(
      try only("ENV PATH /usr/local/bin:$PATH  and more").command
        == .env([("PATH", "/usr/local/bin:$PATH  and more")]))
    #expect(failure("FROM a\nENV ONLY") == "Containerfile:2: ENV must have two arguments")
  }

  @Test func labelsLikeEnv() throws {
    #expect(
      try only("LABEL \"com.example.vendor\"=\"ACME Inc\" version=1.0").command
        == .label([("\"com.example.vendor\"", "\"ACME Inc\""), ("version", "1.0")]))
  }

  @Test func keyValueErrors() {
    #expect(
      failure("FROM a\nENV A=1 B")
        == "Containerfile:2: Syntax error - can't find = in \"B\". Must be of the form: name=value")
    #expect(failure("FROM a\nLABEL =x") == "Containerfile:2: LABEL names can not be blank")
    #expect(failure("FROM a\nENV") == "Containerfile:2: ENV requires at least one argument")
  }

  @Test func argForms() throws {
    #expect(
      try only("ARG A B=2 C=\"x y\" D=").command
        == .arg([
          ArgDefinition(name: "A", defaultValue: nil), ArgDefinition(name: "B", defaultValue: "2"),
          ArgDefinition(name: "C", defaultValue: "\"x y\""),
          ArgDefinition(name: "D", defaultValue: ""),
        ]))
    #expect(failure("FROM a\nARG") == "Containerfile:2: ARG requires at least one argument")
    #expect(failure("FROM a\nARG =1") == "Containerfile:2: ARG names can not be blank")
  }
}

@Suite struct ContainerfileHeredocTests {
  @Test func runHeredoc() throws {
    let file = try parse(
      """
      FROM alpine
      RUN <<EOF
      echo $HOME
        indented
      EOF
      USER nobody
      """)
    let run = file.stages[0].instructions[0]
    #expect(run.command == .run(.shell("<<EOF")))
    #expect(
      run.heredocs == [
        Heredoc(name: "EOF", content: "echo $HOME\n  indented\n", expands: true, stripsTabs: false)
      ])
    #expect(run.text == "RUN <<EOF")
    #expect(file.stages[0].instructions[1].line == 6)
  }

  @Test func quotedNamesDoNotExpandAndDashStripsTabs() throws {
    let file = try parse(
      "FROM a\nRUN <<-'END' bash\n\tif true; then\n\t\techo $x\n\tfi\n\tEND\nRUN <<\"E\"\n$y\nE\n")
    let instructions = file.stages[0].instructions
    #expect(
      instructions[0].heredocs == [
        Heredoc(
          name: "END", content: "if true; then\necho $x\nfi\n", expands: false, stripsTabs: true)
      ])
    #expect(instructions[0].command == .run(.shell("<<-'END' bash")))
    #expect(
      instructions[1].heredocs == [
        Heredoc(name: "E", content: "$y\n", expands: false, stripsTabs: false)
      ])
  }

  @Test func severalHeredocsOnOneLineFollowInOrder() throws {
    let file = try parse(
      """
      FROM a
      RUN <<A cat > /a && <<B cat > /b
      first
      A
      second
      B
      COPY <<one <<"two" /dir/
      1
      one
      2
      two
      """)
    let instructions = file.stages[0].instructions
    #expect(instructions[0].heredocs.map(\.name) == ["A", "B"])
    #expect(instructions[0].heredocs.map(\.content) == ["first\n", "second\n"])
    #expect(instructions[1].command == .copy(sources: ["<<one", "<<two"], destination: "/dir/"))
    #expect(instructions[1].heredocs.map(\.content) == ["1\n", "2\n"])
    #expect(instructions[1].heredocs.map(\.expands) == [true, false])
    #expect(instructions[1].line == 7)
  }

  @Test func heredocMarkersInsideQuotesAreText() throws {
    let instruction = try only("RUN echo \"<<EOF\" '<<X'")
    #expect(instruction.heredocs.isEmpty)
  }

  @Test func aHeredocWithoutItsTerminatorIsAnError() {
    #expect(failure("FROM a\nRUN <<EOF\nno end\n") == "Containerfile:2: unterminated heredoc")
    #expect(
      failure("FROM a\nCOPY a <<EOF\nx\nEOF\n")
        == "Containerfile:2: COPY cannot accept a heredoc as a destination")
  }

  @Test func otherInstructionsDoNotReadHeredocs() throws {
    let file = try parse("FROM a\nLABEL a=\"<<EOF\"\nENV b=<<x\nUSER u\n")
    #expect(file.stages[0].instructions.count == 3)
  }
}

@Suite struct ContainerfileOnbuildTests {
  @Test func onbuildKeepsTheTriggerText() throws {
    #expect(
      try only("ONBUILD  RUN --mount=type=cache,target=/c make").command
        == .onbuild("RUN --mount=type=cache,target=/c make"))
    #expect(try only("onbuild copy . /src").command == .onbuild("copy . /src"))
  }

  @Test func onbuildHeredocsTravelWithTheTrigger() throws {
    let instruction = try only("ONBUILD RUN <<EOF\necho hi\nEOF\n")
    #expect(instruction.command == .onbuild("RUN <<EOF\necho hi\nEOF"))
    let trigger = try Instruction.parseTrigger(
      "RUN <<EOF\necho hi\nEOF", fileName: "child", line: 1)
    #expect(trigger.command == .run(.shell("<<EOF")))
    #expect(trigger.heredocs.map(\.content) == ["echo hi\n"])
  }

  @Test func forbiddenTriggers() {
    #expect(
      failure("FROM a\nONBUILD ONBUILD RUN x")
        == "Containerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    #expect(
      failure("FROM a\nONBUILD FROM b")
        == "Containerfile:2: FROM isn't allowed as an ONBUILD trigger")
    #expect(
      failure("FROM a\nONBUILD maintainer me")
        == "Containerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger")
    #expect(failure("FROM a\nONBUILD RUNN x") == "Containerfile:2: unknown instruction: RUNN")
    #expect(failure("FROM a\nONBUILD") == "Containerfile:2: ONBUILD requires at least one argument")
  }
}

@Suite struct ContainerfileHealthcheckTests {
  @Test func healthcheckCmdWithOptions() throws {
    let instruction = try only(
      "HEALTHCHECK --interval=30s --timeout=1m30s --start-period=0 --retries=3 CMD curl -f http://localhost/"
    )
    #expect(
      instruction.command
        == .healthcheck(
          HealthcheckDefinition(
            options: [
              InstructionFlag(name: "interval", value: "30s"),
              InstructionFlag(name: "timeout", value: "1m30s"),
              InstructionFlag(name: "start-period", value: "0"),
              InstructionFlag(name: "retries", value: "3"),
            ], command: .shell("curl -f http://localhost/"))))
    #expect(
      try only("HEALTHCHECK cmd [\"true\"]").command
        == .healthcheck(HealthcheckDefinition(options: [], command: .exec(["true"]))))
    #expect(try only("HEALTHCHECK NONE").command == .healthcheck(nil))
  }

  @Test func healthcheckErrors() {
    #expect(
      failure("FROM a\nHEALTHCHECK NONE x")
        == "Containerfile:2: HEALTHCHECK NONE takes no arguments")
    #expect(
      failure("FROM a\nHEALTHCHECK CMD") == "Containerfile:2: Missing command after HEALTHCHECK CMD"
    )
    #expect(
      failure("FROM a\nHEALTHCHECK RUN x")
        == "Containerfile:2: Unknown type \"RUN\" in HEALTHCHECK (try CMD)")
    #expect(
      failure("FROM a\nHEALTHCHECK --interval=5 CMD x")
        == "Containerfile:2: time: invalid duration \"5\"")
    #expect(
      failure("FROM a\nHEALTHCHECK --interval=1us CMD x")
        == "Containerfile:2: Interval \"interval\" cannot be less than 1ms")
    #expect(
      failure("FROM a\nHEALTHCHECK --retries=-1 CMD x")
        == "Containerfile:2: --retries cannot be negative (-1)")
    #expect(
      failure("FROM a\nHEALTHCHECK --command=x CMD x") == "Containerfile:2: unknown flag: command")
  }
}

@Suite struct ContainerfileWholeFileTests {
  @Test func aTypicalMultiStageFile() throws {
    let file = try parse(
      """
      # syntax=docker/dockerfile:1.7
      ARG GO=1.22

      FROM golang:${GO} AS build
      WORKDIR /src
      COPY go.mod go.sum ./
      RUN --mount=type=cache,target=/go/pkg/mod \\
          go mod download
      COPY . .
      RUN CGO_ENABLED=0 go build -o /out/app ./cmd/app

      FROM gcr.io/distroless/static
      COPY --from=build /out/app /app
      EXPOSE 8080
      USER 65532:65532
      ENTRYPOINT ["/app"]
      """)
    #expect(file.syntax == "docker/dockerfile:1.7")
    #expect(file.globalArgs == [ArgDefinition(name: "GO", defaultValue: "1.22")])
    #expect(file.stages.map(\.name) == ["build", nil])
    #expect(
      file.stages[0].instructions.map(\.keyword) == ["WORKDIR", "COPY", "RUN", "COPY", "RUN"])
    #expect(file.stages[0].instructions.map(\.line) == [5, 6, 7, 9, 10])
    #expect(file.stages[0].instructions[2].command == .run(.shell("go mod download")))
    #expect(file.stages[1].instructions.last?.command == .entrypoint(.exec(["/app"])))
  }

  @Test func theEscapeDirectiveAppliesToEnvWords() throws {
    let file = try parse("# escape=`\nFROM a\nENV A=x` y B=c:\\dir\n")
    guard case .env(let pairs) = file.stages[0].instructions[0].command else {
      Issue.record("not ENV")
      return
    }
    #expect(pairs.map(\.key) == ["A", "B"])
    #expect(pairs.map(\.value) == ["x` y", "c:\\dir"])
  }

  @Test func heredocSourcesLoseTheirDashAndQuotes() throws {
    let instruction = try only("COPY <<-'EOF' /etc/motd\n\thello\n\tEOF\n")
    #expect(instruction.command == .copy(sources: ["<<EOF"], destination: "/etc/motd"))
    #expect(
      instruction.heredocs == [
        Heredoc(name: "EOF", content: "hello\n", expands: false, stripsTabs: true)
      ])
  }

  @Test func aHeredocBodyKeepsAMissingFinalNewline() throws {
    let instruction = try only("RUN <<EOF\necho\nEOF")
    #expect(instruction.heredocs.first?.content == "echo\n")
    let noNewline = try parse("FROM a\nRUN <<EOF python3\nprint(1)\nEOF\n")
    #expect(noNewline.stages[0].instructions[0].command == .run(.shell("<<EOF python3")))
  }

  @Test func triggerErrorsNameTheChildFile() {
    do {
      _ = try Instruction.parseTrigger("COPY --bad=1 a b", fileName: "Containerfile", line: 1)
      Issue.record("parsed")
    } catch {
      #expect(error.message == "Containerfile:1: unknown flag: bad")
    }
  }
}
