import ArgumentParser
import BerthImage

/// Container root filesystems for OCI bundles: an overlay of the image's
/// layers with a private upper directory. Hidden: the engine's container
/// commands drive it; it is here for scripts and tests.
struct SnapshotCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "snapshot", abstract: "Manage container root filesystem snapshots.",
    shouldDisplay: false, subcommands: [Create.self, Remove.self, List.self])

  struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "create",
      abstract: "Create and mount a writable snapshot; print its rootfs path.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Image by name or id.")
    var image: String

    @Flag(help: "Create the directories only.")
    var noMount = false

    @Option(help: "Overlay driver: auto (kernel, else fuse-overlayfs), kernel or fuse.")
    var driver: String = "auto"

    @Option(help: "Also write an OCI bundle (config.json) for the image into this directory.")
    var bundle: String?

    @Argument(help: "Snapshot id, e.g. the container id.")
    var id: String

    @Argument(parsing: .captureForPassthrough, help: "Command to run instead of the image's.")
    var command: [String] = []

    func run() throws {
      let store = try global.store()
      let record = try store.resolveImage(image)
      let snapshot = try store.createSnapshot(id: id, image: record)
      if let bundle {
        var overrides = RunOverrides()
        if !command.isEmpty { overrides.command = command }
        do {
          try store.writeBundle(bundle, image: record, snapshot: snapshot, overrides: overrides)
        } catch {
          try? store.removeSnapshot(id: id)
          throw error
        }
      }
      if noMount {
        print(snapshot.merged)
        return
      }
      do {
        guard let driver = OverlayDriver(rawValue: driver) else {
          throw ValidationError("unknown driver \"\(self.driver)\": auto, kernel or fuse")
        }
        print(try store.mountSnapshot(snapshot, driver: driver))
      } catch {
        try? store.removeSnapshot(id: id)
        throw error
      }
    }
  }

  struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "rm", abstract: "Unmount and delete snapshots.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Snapshot ids.")
    var ids: [String]

    func run() throws {
      let store = try global.store()
      for id in ids { try store.removeSnapshot(id: id) }
    }
  }

  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List snapshots.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
      for id in try global.store().snapshots() { print(id) }
    }
  }
}
