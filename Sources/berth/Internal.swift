import ArgumentParser
import BerthImage

/// Hidden helpers that rootless berth runs in a user namespace (through
/// util-linux's unshare) so that layer files get their real owners.
struct UnpackLayerHelper: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__unpack-layer", shouldDisplay: false)

  @OptionGroup var global: GlobalOptions

  @Argument var blob: String
  @Argument var directory: String
  @Argument var result: String

  func run() throws {
    try ContentStore.helperUnpack(blob: blob, into: directory, result: result)
  }
}

struct RemoveTreeHelper: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__remove-tree", shouldDisplay: false)

  @OptionGroup var global: GlobalOptions

  @Argument var path: String

  func run() throws {
    try ContentStore.helperRemove(path)
  }
}
