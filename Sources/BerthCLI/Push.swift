import ArgumentParser
import BerthEngine
import BerthImage
import BerthOCI

struct Push: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "push", abstract: "Push an image to a registry.")

  @OptionGroup var global: GlobalOptions
  @OptionGroup var registry: RegistryFlags

  @Flag(name: .shortAndLong, help: "Print nothing but errors.")
  var quiet = false

  @Option(help: "Write the pushed manifest's digest to this file.")
  var digestfile: String?

  @Argument(help: "Local image.")
  var image: String

  @Argument(help: "Destination reference (default: the image name).")
  var destination: String?

  func run() async throws {
    let store = try global.store()
    let record = try store.resolveImage(image)
    let destination = try Reference(parsing: destination ?? image)
    let digest = try await store.push(
      record, to: destination, options: registry.options(), progress: progressSink(quiet: quiet))
    try? global.engine().recordImageEvent(
      "push", id: record.id.description, name: destination.description)
    if let digestfile {
      try digest.description.write(toFile: digestfile, atomically: true, encoding: .utf8)
    }
  }
}
