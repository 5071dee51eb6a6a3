import ArgumentParser
import BerthEngine
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
  /// A container's id maps as JSON, for a mapped copy of the layer.
  @Argument var maps: String?

  func run() throws {
    try ContentStore.helperUnpack(blob: blob, into: directory, result: result, maps: maps)
  }
}

/// Run inside the rootless network host (through `berth-monitor nsexec`):
/// a network's bridge, sysctls and firewall table there.
struct NetworkHostBridgeHelper: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "__network-host-bridge", shouldDisplay: false)

  @OptionGroup var global: GlobalOptions

  @Flag var remove = false
  @Argument var network: String

  func run() throws {
    try Engine(root: global.root, runRoot: global.runroot).bridgeHere(network, remove: remove)
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
