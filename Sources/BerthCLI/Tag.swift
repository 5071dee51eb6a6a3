import ArgumentParser
import BerthEngine
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
    let engine = try global.engine()
    let store = engine.store
    let record = try store.resolveImage(image)
    for name in names {
      let reference = try Reference(parsing: name)
      try store.tag(record, as: reference)
      engine.recordImageEvent("tag", id: record.id.description, name: reference.description)
    }
  }
}
