// Overlay snapshots of unpacked layers: whiteouts and opaque directories of
// upper layers hide lower content, writes go to the container's upper dir.
import BerthImage
import BerthOCI
import Foundation
import Testing

@Test(.enabled(if: isRoot, "mounting overlayfs needs root"))
func overlaySnapshotAppliesWhiteoutsAndKeepsLayersReadOnly() throws {
  let work = try TempDir()
  let layout = try LayoutBuilder(work.path + "/layout")
  let lower = try layout.layer(
    """
    add_file("gone", b"lower")
    add_file("kept", b"lower")
    add("dir", tarfile.DIRTYPE, mode=0o755)
    add_file("dir/old", b"lower")
    """)
  let upper = try layout.layer(
    """
    add_file(".wh.gone", b"")
    add("dir", tarfile.DIRTYPE, mode=0o755)
    add_file("dir/.wh..wh..opq", b"")
    add_file("dir/new", b"upper")
    """)
  try layout.index([try layout.image(layers: [lower, upper])])
  let store = try ContentStore(root: work.path + "/store")
  let image = try #require(try store.load(from: layout.dir).first)

  let snapshot = try store.createSnapshot(id: "c1", image: image)
  #expect(snapshot.lowerDirectories == (try store.layerPaths(of: image)).reversed())
  let rootfs = try store.mountSnapshot(snapshot)
  defer { try? store.removeSnapshot(id: "c1") }
  let files = FileManager.default
  #expect(!files.fileExists(atPath: rootfs + "/gone"))
  #expect(files.fileExists(atPath: rootfs + "/kept"))
  #expect(try files.contentsOfDirectory(atPath: rootfs + "/dir") == ["new"])

  try "container".write(toFile: rootfs + "/kept", atomically: false, encoding: .utf8)
  #expect(try String(contentsOfFile: snapshot.upper + "/kept", encoding: .utf8) == "container")
  let lowerKept = try store.layerPaths(of: image)[0] + "/kept"
  #expect(try String(contentsOfFile: lowerKept, encoding: .utf8) == "lower")

  // The image is in use while the snapshot exists.
  let refused = #expect(throws: (any Error).self) {
    try store.remove(image.id.encoded, force: false)
  }
  #expect("\(refused.map { "\($0)" } ?? "")".contains("used by a container"))
  try store.removeSnapshot(id: "c1")
  #expect(!files.fileExists(atPath: snapshot.directory))
  _ = try store.remove(image.id.encoded, force: false)
}
