// --squash: this build's new layers become one. They are unpacked in order
// onto a snapshot of the base (whiteouts applied, so the overlay records
// the deletions), and the upper directory is the single new layer.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem
import FoundationEssentials
import Glibc

extension Builder {
  func squash(_ state: StageState) throws -> StageState {
    guard let image = state.layers else { return state }
    let layers = try engine.store.manifest(of: image).layers
    let baseCount = layers.count - state.newLayers
    var base = state
    base.image.rootfs.diffIDs = Array(state.image.rootfs.diffIDs.prefix(baseCount))
    base.layers = nil
    base.newLayers = 0
    var squashing = StageBuilder(builder: self, stage: file.stages[0], total: 1)
    squashing.state = base
    if baseCount > 0 {
      // An image of the base's layers alone, to mount below the squash.
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
      let config = ImageConfig(
        platform: .host, config: ImageConfig.Config(),
        rootfs: ImageConfig.RootFS(diffIDs: base.image.rootfs.diffIDs))
      let configBytes = Array(try encoder.encode(config))
      let digest = try engine.store.writeBlob(configBytes)
      let manifest = Manifest(
        config: Descriptor(
          mediaType: MediaType.ociConfig, digest: digest, size: Int64(configBytes.count)),
        layers: Array(layers.prefix(baseCount)))
      squashing.state.layers = try engine.store.commitImage(
        manifestBytes: Array(try encoder.encode(manifest)), mediaType: MediaType.ociManifest,
        names: [], intermediate: true)
    }
    let work = try squashing.openWorkingRoot()
    defer { squashing.closeWorkingRoot(work) }
    let root = try check("open \(work.path)") {
      open(work.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }
    defer { close(root) }
    var unpack = UnpackOptions(rootless: engine.rootless, name: "squashed layer")
    unpack.whiteouts = true
    unpack.applyWhiteouts = true
    for layer in layers.dropFirst(baseCount) {
      _ = try LayerUnpacker.unpack(
        blob: engine.store.blobPath(layer.digest), intoDirectoryFD: root, options: unpack)
    }
    try work.finish(engine.store)
    // The squashed history: the base's, then one entry for the new layer.
    let history = state.image.history ?? []
    var kept: [ImageConfig.History] = []
    var layered = 0
    for entry in history {
      if entry.emptyLayer != true { layered += 1 }
      if layered <= baseCount || entry.emptyLayer == true && layered <= baseCount {
        kept.append(entry)
      }
    }
    squashing.state.image.history = kept
    try squashing.commitLayer(
      from: work.changes, overlay: work.overlay, exclude: [],
      key: BuildCache.key(parent: state.key, step: "squash"), createdBy: "berth build --squash")
    var result = squashing.state
    result.image.config = state.image.config
    return result
  }
}
