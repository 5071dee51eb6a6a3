import ArgumentParser
import BerthImage
import BerthOCI

struct Tag: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tag", abstract: "Add names to a local image.")

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Local image.")
  var image: String

  @Argument(help: "New names.")
  var names: [String]

  func run() throws {
    let store = try global.store()
    let record = try store.resolveImage(image)
    for name in names { try store.tag(record, as: try Reference(parsing: name)) }
  }
}
