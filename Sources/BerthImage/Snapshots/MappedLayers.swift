// Layers for containers in their own user namespace (`--userns`,
// `--uidmap`): a file the image gives to uid 0 must belong to whatever 0
// maps to outside, or root in the container sees nobody's files. The
// kernel's idmapped mounts could do that without a copy, but only root may
// idmap an ext4 layer, so (as containers/storage does when it cannot
// idmap) each layer is unpacked once more from its blob with the owners
// translated, and shared by every container with the same maps:
//   mapped/KEY/CHAIN/diff   KEY: a digest of the maps, CHAIN: the layer's
// Garbage collection drops a copy with its layer.
import BerthOCI
import BerthSystem
import Foundation
import Glibc

extension ContentStore {
  /// The directory of every copy made with `maps`.
  func mappedRoot(_ maps: IDMaps) -> String {
    let text =
      "uid " + IDMaps.describe(maps.uid).joined(separator: ",") + " gid "
      + IDMaps.describe(maps.gid).joined(separator: ",")
    return "\(root)/mapped/" + String(Hasher.digest(Array(text.utf8)).encoded.prefix(16))
  }

  /// Paths of an image's layers copied for `maps`, lowest first; each copy
  /// is made on first use, into a temp directory renamed into place.
  public func mappedLayerPaths(of image: ImageRecord, maps: IDMaps) throws -> [String] {
    let config = try config(of: image)
    let manifest = try manifest(of: image)
    let diffIDs = config.rootfs.diffIDs
    guard manifest.layers.count == diffIDs.count else {
      throw BerthError(
        .invalidArgument,
        "image \(image.id.short) lists \(manifest.layers.count) layers and \(diffIDs.count) diff ids",
        hint: "pull or build the image again")
    }
    // Shared: garbage collection (exclusive) must not take a copy half made.
    let lock = try lockContent()
    defer { withExtendedLifetime(lock) {} }
    let directory = mappedRoot(maps)
    try Sys.mkdirs(directory)
    var paths: [String] = []
    for (index, chain) in Self.chainIDs(diffIDs).enumerated() {
      let path = "\(directory)/\(chain.encoded)"
      paths.append(path + "/diff")
      if Sys.exists(path + "/diff") { continue }
      let blob = manifest.layers[index].digest
      guard Sys.exists(blobPath(blob)) else {
        throw BerthError(
          .notFound,
          "layer \(blob.short) of image \(image.id.short) has no blob to copy for a user namespace",
          hint: "pull the image again")
      }
      let temp = "\(directory)/.tmp-\(Sys.randomHex(8))"
      try Sys.check("create \(temp)") { mkdir(temp, 0o700) }
      do {
        try Sys.check("create \(temp)/diff") { mkdir(temp + "/diff", 0o755) }
        let result = try unpackAsOwner(blob: blob, into: temp + "/diff", maps: maps)
        guard result.diffID == diffIDs[index] else {
          throw BerthError(
            .invalidArgument,
            "layer \(blob.short): uncompressed digest \(result.diffID) does not match the config's \(diffIDs[index])",
            hint: "the image is corrupt or was tampered with")
        }
        try install(temp, as: path, what: "store the mapped copy of layer \(chain.short)")
      } catch {
        try? removeOwnedTree(temp)
        throw error
      }
    }
    return paths
  }

  /// Removes copies of layers no image has any more (`live`: chain ids'
  /// hex), and the maps directories left empty.
  func collectMappedLayers(live: Set<String>) throws {
    let top = root + "/mapped"
    guard Sys.exists(top) else { return }
    for key in try Sys.listDirectory(top) {
      let directory = "\(top)/\(key)"
      for name in try Sys.listDirectory(directory) where !live.contains(name) {
        try removeOwnedTree("\(directory)/\(name)")
      }
      if (try Sys.listDirectory(directory)).isEmpty { rmdir(directory) }
    }
  }
}
