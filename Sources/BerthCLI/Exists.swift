import ArgumentParser
import BerthImage
import BerthSystem

/// `berth image exists IMAGE`: exit 0 when the image is in the store, 1 when
/// not, as podman's does for scripts.
struct Exists: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exists",
    abstract: "Check whether an image is in local storage (exit 0) or not (exit 1).")

  @OptionGroup var global: GlobalOptions

  @Argument(help: "Image by name or id.")
  var image: String

  func run() throws {
    do {
      _ = try global.store().resolveImage(image)
    } catch let error as BerthError where error.code == .notFound {
      throw ExitCode(1)
    }
  }
}
