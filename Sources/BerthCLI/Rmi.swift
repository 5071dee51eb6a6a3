import ArgumentParser
import BerthEngine
import BerthImage

struct Rmi: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rmi", abstract: "Remove images from local storage.")

  @OptionGroup var options: RemoveOptions

  func validate() throws { try options.check() }
  func run() throws { try options.run() }
}

/// `berth image rm`: the same as `berth rmi` (top-level `rm` is for containers).
struct ImageRemove: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rm", abstract: "Remove images from local storage.")

  @OptionGroup var options: RemoveOptions

  func validate() throws { try options.check() }
  func run() throws { try options.run() }
}

struct RemoveOptions: ParsableArguments {
  @OptionGroup var global: GlobalOptions

  @Flag(name: .shortAndLong, help: "Remove the image even if a container uses it, with all names.")
  var force = false

  @Flag(name: .shortAndLong, help: "Remove all images.")
  var all = false

  @Argument(help: "Images by name or id.")
  var images: [String] = []

  func check() throws {
    if images.isEmpty && !all { throw ValidationError("give at least one image or --all") }
  }

  func run() throws {
    let engine = try global.engine()
    let store = engine.store
    let targets = all ? try store.images().map(\.id.encoded) : images
    var failure: (any Error)?
    for image in targets {
      do {
        // As podman: --force removes the containers that use the image
        // first, so no mounted overlay is left reading deleted layers.
        if force {
          let id = try store.resolveImage(image).id.description
          for container in try engine.containers() where container.imageID == id {
            _ = try engine.removeContainer(container.id, force: true, volumes: false)
          }
        }
        let id = try store.resolveImage(image).id.description
        let lines = try store.remove(image, force: force)
        engine.recordImageRemoval(lines, id: id)
        for line in lines { print(line) }
      } catch {
        // Keep going like podman, and report the first failure at the end.
        failure = failure ?? error
      }
    }
    if let failure { throw failure }
  }
}
