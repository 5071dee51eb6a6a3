import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem
import FoundationEssentials
import Glibc

struct SpecCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "spec", abstract: "Write a default config.json into the bundle.")
  @Option(name: [.short, .long], help: "Bundle directory to write config.json into.")
  var bundle: String = "."
  @Flag(help: "A config for an unprivileged user (user namespace mapping you to root).")
  var rootless = false

  func run() {
    let path = bundle + "/config.json"
    if fileExists(path) {
      fail(BerthError(.alreadyExists, "\(path) already exists", hint: "remove it first"))
    }
    let spec = Spec.runtimeDefault(rootless: rootless, uid: geteuid(), gid: getegid())
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    perform { _ throws(BerthError) in
      guard let data = try? encoder.encode(spec) else {
        throw BerthError(.internalError, "cannot encode the default spec")
      }
      try writeFileAtomically(path, Array(data) + [0x0a], mode: 0o644)
    }
  }
}
