import ArgumentParser
import BerthEngine
import BerthImage
import BerthOCI

struct Pull: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pull", abstract: "Pull an image from a registry.")

  @OptionGroup var global: GlobalOptions
  @OptionGroup var registry: RegistryFlags

  @Option(help: "Platform OS/ARCH[/VARIANT] to choose from a multi-platform image.")
  var platform: String?

  @Flag(name: .shortAndLong, help: "Print only the image id.")
  var quiet = false

  @Argument(help: "Image reference, e.g. busybox or localhost:5000/app:1.0.")
  var image: String

  func run() async throws {
    let store = try global.store()
    let reference = try Reference(parsing: image)
    let platform = try self.platform.map { try Platform(parsing: $0) } ?? .host
    let bars = !quiet && ProgressBars.isTerminal ? ProgressBars() : nil
    let record = try await store.pullSearching(
      reference, platform: platform, options: registry.options(),
      progress: bars.map { bars in { @Sendable line in bars.line(line) } }
        ?? progressSink(quiet: quiet),
      bytes: bars.map { bars in { @Sendable blob, done, total in bars.bytes(blob, done, total) } })
    bars?.finish()
    try? global.engine().recordImageEvent(
      "pull", id: record.id.description, name: reference.withDefaultTag.description)
    print(record.id.encoded)
  }
}
