import ArgumentParser
import BerthImage

/// `berth image mount IMAGE`: a read-only view of the image's filesystem.
struct Mount: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mount",
    abstract: "Mount an image's root filesystem read-only and print where.")

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Image by name or id.")
  var image: String

  func run() throws {
    let store = try global.store()
    let record = try store.resolveImage(image)
    let id = "image-\(record.id.encoded)"
    if let existing = try? store.snapshot(id: id) {
      print(existing.merged)
      return
    }
    let snapshot = try store.createSnapshot(id: id, image: record)
    do {
      print(try store.mountSnapshot(snapshot, readOnly: true))
    } catch {
      try? store.removeSnapshot(id: id)
      throw error
    }
  }
}

struct Unmount: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unmount", abstract: "Unmount an image mounted with `image mount`.",
    aliases: ["umount"])

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Image by name or id.")
  var image: String

  func run() throws {
    let store = try global.store()
    let record = try store.resolveImage(image)
    try store.removeSnapshot(id: "image-\(record.id.encoded)")
    print(record.id.encoded)
  }
}
