// `berth builder prune` (docker's spelling; `image prune --build-cache`
// does the same): forget the build cache and remove RUN cache mounts.
// The intermediate images go with the next `image prune`.
import ArgumentParser
import BerthBuild

struct BuilderCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "builder", abstract: "Manage the build cache.", subcommands: [BuilderPrune.self])
}

struct BuilderPrune: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "prune", abstract: "Remove the build cache.")

  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Also remove unnamed images (the cached steps' layers).")
  var all = false
  @Flag(name: .shortAndLong, help: "Do not ask for confirmation (there is no prompt).")
  var force = false

  func run() throws {
    let engine = try global.engine()
    let entries = try Builder.pruneCache(engine: engine)
    var images = 0
    if all { images = try engine.store.prune(all: false).count }
    print("removed \(entries.count) cached steps" + (all ? " and \(images) images" : ""))
  }
}
