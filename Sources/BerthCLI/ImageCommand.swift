import ArgumentParser

/// `berth image SUBCOMMAND`, as podman groups image commands.
struct ImageCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "image", abstract: "Manage images.",
    subcommands: [
      ImageList.self, Inspect.self, ImageRemove.self, Prune.self, Tag.self, Pull.self, Push.self,
      History.self, Save.self, Load.self, Mount.self, Unmount.self, Exists.self, Import.self,
      Build.self,
    ])
}
