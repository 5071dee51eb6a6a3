import ArgumentParser
import Foundation
import Testing

@testable import BerthCLI

/// `run` and `create` are read by `CreateHotPath` unless it declines; then
/// swift-argument-parser reads them. Both must give the same command.
@Suite struct CreateHotPathTests {
  /// The options swift-argument-parser knows for `command`: names and
  /// whether each takes a value (its own JSON description of the command).
  static func declaredOptions(_ command: ParsableCommand.Type) throws -> [Set<String>: Bool] {
    let dump = try JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8))
    let info = try #require((dump as? [String: Any])?["command"] as? [String: Any])
    let arguments = try #require(info["arguments"] as? [[String: Any]])
    var options: [Set<String>: Bool] = [:]
    for argument in arguments {
      let kind = argument["kind"] as? String
      guard kind == "option" || kind == "flag" else { continue }
      let names = (argument["names"] as? [[String: Any]] ?? []).compactMap { name -> String? in
        guard let text = name["name"] as? String else { return nil }
        return (name["kind"] as? String) == "short" ? "-" + text : "--" + text
      }
      if names == ["--help"] { continue }
      options[Set(names)] = kind == "option"
    }
    return options
  }

  static func hotOptions(run: Bool) -> [Set<String>: Bool] {
    var options: [Set<String>: Bool] = [:]
    for entry in CreateHotPath.table() where run || !entry.runOnly {
      options[Set(entry.names)] = entry.slot.takesValue
    }
    return options
  }

  /// What swift-argument-parser makes of `arguments`, described; nil when
  /// it refuses them.
  static func reference(_ arguments: [String], run: Bool) -> String? {
    if run { return (try? Run.parseAsRoot(arguments)).map { String(describing: $0) } }
    return (try? Create.parseAsRoot(arguments)).map { String(describing: $0) }
  }

  static func hot(_ arguments: [String], run: Bool) -> String? {
    CreateHotPath.parse(arguments, run: run).map { String(describing: $0) }
  }

  @Test(arguments: [true, false])
  func knowsEveryOptionByItsNames(run: Bool) throws {
    let declared = try Self.declaredOptions(run ? Run.self : Create.self)
    #expect(declared.count > 70)
    #expect(Self.hotOptions(run: run) == declared)
  }

  @Test(arguments: [true, false])
  func readsEveryOptionAsSwiftArgumentParserDoes(run: Bool) {
    for entry in CreateHotPath.table() where run || !entry.runOnly {
      var accepted = 0
      var forms: [[String]] = []
      if entry.slot.takesValue {
        for sample in ["7", "false", "a=b", "", "/x:/y:ro", "-1"] {
          for name in entry.names { forms.append([name, sample]) }
          if let long = entry.names.last, long.hasPrefix("--") {
            forms.append(["\(long)=\(sample)"])
          }
        }
      } else {
        for name in entry.names { forms.append([name]) }
        forms.append(["\(entry.names.last!)=true"])
      }
      for form in forms {
        let arguments = form + ["busybox", "echo", "-v", "--rm"]
        guard let hot = Self.hot(arguments, run: run) else { continue }
        accepted += 1
        #expect(hot == Self.reference(arguments, run: run), "\(arguments)")
      }
      #expect(accepted > 0, "\(entry.names) is never read by hand")
    }
  }

  @Test func readsCommonCommandLinesAsSwiftArgumentParserDoes() {
    let lines: [[String]] = [
      ["busybox"],
      [],
      ["--rm", "busybox", "true"],
      ["-it", "--rm", "busybox", "sh"],
      ["-dit", "--name", "web", "-p", "8080:80", "busybox", "httpd", "-f"],
      ["-e", "A=1", "-e", "B=2", "--env=C=3", "-v", "/a:/b:ro", "busybox", "env"],
      ["--root", "/tmp/r", "--runroot", "/tmp/rr", "--network", "none", "busybox", "true"],
      ["-h", "box", "-w", "/tmp", "-u", "1000:1000", "-m", "64m", "busybox", "id"],
      ["--entrypoint", "", "--read-only", "--read-only-tmpfs", "false", "busybox"],
      ["--restart", "on-failure:3", "--stop-timeout", "5", "-l", "a=b", "busybox"],
      ["-a", "STDOUT", "-a", "STDERR", "--sig-proxy=false", "busybox", "ls", "-l"],
      ["busybox", "--name", "not-a-flag-here"],
    ]
    for line in lines {
      let hot = Self.hot(line, run: true)
      #expect(hot != nil, "\(line)")
      #expect(hot == Self.reference(line, run: true), "\(line)")
    }
  }

  @Test func leavesWhatItIsNotSureOfToSwiftArgumentParser() {
    let lines: [[String]] = [
      ["--help"], ["-e"], ["-eA=1", "busybox"], ["--", "busybox"], ["-x", "busybox"],
      ["--rm=true", "busybox"], ["--stop-timeout", "soon", "busybox"],
      ["-ie", "A=1", "busybox"], ["--name", "a", "--name", "b", "busybox"],
      ["--rm", "--rm", "busybox"], ["-e", "-x", "busybox"], ["-", "busybox"],
      ["--sig-proxy", "maybe", "busybox"], ["--unknown", "busybox"],
    ]
    for line in lines { #expect(Self.hot(line, run: true) == nil, "\(line)") }
    // `create` has no -d, -a, --sig-proxy or --detach-keys.
    #expect(Self.hot(["-d", "busybox"], run: false) == nil)
    #expect(Self.hot(["--detach-keys", "ctrl-x", "busybox"], run: false) == nil)
  }
}
