import BerthSystem

extension Containerfile {
  /// Parses a Containerfile/Dockerfile by docker's rules. Nothing is
  /// expanded: ARG/ENV values are known only while building. Errors name
  /// `fileName` and the line: `Containerfile:7: unknown instruction: RUNN`.
  public static func parse(_ text: String, fileName: String) throws(BerthError) -> Containerfile {
    do {
      return try parse(lines: SourceLine.lines(of: text))
    } catch {
      throw error.berthError(fileName: fileName)
    }
  }

  private static func parse(lines: [SourceLine]) throws(ParseFailure) -> Containerfile {
    let directives = try ParserDirectives.read(lines)
    var file = Containerfile()
    file.escape = directives.escape
    file.syntax = directives.syntax
    var reader = InstructionReader(lines: lines, escape: directives.escape)
    var sawInstruction = false
    var stageLines: [String: Int] = [:]
    while let logical = try reader.read() {
      sawInstruction = true
      switch try InstructionParser.parse(logical, escape: directives.escape) {
      case .from(let name, let base, let platform):
        if let name {
          if let earlier = stageLines[name] {
            throw ParseFailure(
              "duplicate stage name \"\(name)\"",
              hint: "line \(earlier) already names a stage \(name)",
              line: logical.line)
          }
          stageLines[name] = logical.line
        }
        file.stages.append(
          Stage(
            index: file.stages.count, name: name, base: base, platform: platform,
            line: logical.line))
      case .instruction(let instruction):
        guard !file.stages.isEmpty else {
          // ARGs before the first FROM parameterise FROM lines.
          if case .arg(let definitions) = instruction.command {
            file.globalArgs += definitions
            continue
          }
          throw ParseFailure(
            "no build stage in current context: \(instruction.keyword) comes before the first FROM",
            hint: "start the file with FROM; only ARG may come before it", line: logical.line)
        }
        file.stages[file.stages.count - 1].instructions.append(instruction)
      }
    }
    guard sawInstruction else {
      throw ParseFailure("file with no instructions", hint: "a Containerfile needs at least a FROM")
    }
    guard !file.stages.isEmpty else {
      throw ParseFailure(
        "no build stage: the file has no FROM instruction", hint: "add FROM IMAGE (or FROM scratch)"
      )
    }
    return file
  }
}

extension Instruction {
  /// Parses an ONBUILD trigger (`Command.onbuild`'s text, heredoc bodies
  /// included) when a child image runs it. `fileName` and `line` locate
  /// errors, e.g. the child's FROM.
  public static func parseTrigger(
    _ trigger: String, escape: Character = "\\", fileName: String, line: Int
  ) throws(BerthError) -> Instruction {
    do throws(ParseFailure) {
      var reader = InstructionReader(lines: SourceLine.lines(of: trigger), escape: escape)
      guard let logical = try reader.read() else {
        throw ParseFailure("empty ONBUILD trigger", hint: "the base image's ONBUILD is broken")
      }
      let located = LogicalInstruction(
        line: line, text: logical.text, heredocs: logical.heredocs)
      guard
        case .instruction(let instruction) = try InstructionParser.parse(located, escape: escape)
      else {
        throw ParseFailure(
          "FROM isn't allowed as an ONBUILD trigger", hint: "rebuild the base image")
      }
      return instruction
    } catch {
      throw error.at(line: line).berthError(fileName: fileName)
    }
  }
}
