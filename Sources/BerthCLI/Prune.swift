import ArgumentParser
import BerthBuild
import BerthImage

struct Prune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune",
    abstract: "Remove unnamed images (all unused ones with --all) and unreferenced content.")

  @OptionGroup var global: GlobalOptions

  @Flag(name: .shortAndLong, help: "Remove all images no container uses.")
  var all = false

  @Flag(name: .shortAndLong, help: "Do not ask for confirmation (there is no prompt).")
  var force = false

  @Flag(
    name: .customLong("build-cache"),
    help: "Also remove the build cache (cached steps and RUN cache mounts).")
  var buildCache = false

  func run() throws {
    if buildCache { _ = try Builder.pruneCache(engine: try global.engine()) }
    for id in try global.store().prune(all: all) { print(id.encoded) }
  }
}
