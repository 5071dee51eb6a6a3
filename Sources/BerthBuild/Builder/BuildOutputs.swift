// `-o`: the built image also written out: its root filesystem into a
// directory (layers applied in order, whiteouts honoured), or an OCI or
// docker archive.
import BerthEngine
import BerthImage
import BerthOCI
import BerthSystem

extension Builder {
  public func export(_ image: ImageRecord) throws {
    for output in options.outputs {
      switch output.kind {
      case .local:
        try mkdirAll(output.destination, mode: 0o755)
        var unpack = UnpackOptions(rootless: engine.rootless, name: "the built image")
        unpack.whiteouts = true
        unpack.applyWhiteouts = true
        unpack.chown = !engine.rootless
        for layer in try engine.store.manifest(of: image).layers {
          _ = try LayerUnpacker.unpack(
            blob: engine.store.blobPath(layer.digest), into: output.destination, options: unpack)
        }
      case .oci, .docker, .tar:
        try engine.store.save(
          [image.id.description], format: output.kind == .oci ? .ociArchive : .dockerArchive,
          to: output.destination)
      }
    }
  }

  /// Removes the containers and snapshots of steps still in progress.
  public func abandon() { active.removeAll(engine: engine) }

  /// `builder prune`: the step cache and the RUN cache mounts. Returns
  /// the removed steps' cache keys.
  public static func pruneCache(engine: Engine) throws(BerthError) -> [String] {
    try BuildCache.prune(store: engine.store)
  }
}
