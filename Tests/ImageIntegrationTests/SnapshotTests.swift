// Overlay snapshots of unpacked layers: whiteouts and opaque directories of
// upper layers hide lower content, writes go to the container's upper dir.
import BerthImage
import BerthOCI
import Foundation
import Testing

@Test(
  .enabled(if: isRoot, "mounting overlayfs needs root"), .serialized,
  arguments: [OverlayDriver.kernel, .fuse].filter {
    $0 == .kernel
      || (which("fuse-overlayfs") && FileManager.default.fileExists(atPath: "/dev/fuse"))
  })
func overlaySnapshotAppliesWhiteoutsAndKeepsLayersReadOnly(driver: OverlayDriver) throws {
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
  let rootfs = try store.mountSnapshot(snapshot, driver: driver)
  defer { try? store.removeSnapshot(id: "c1") }
  #expect(
    try run(["findmnt", "-n", "-o", "FSTYPE", rootfs]).contains(
      driver == .fuse ? "fuse" : "overlay"))
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

@Test(
  .enabled(if: isRoot && hasBusybox && which("runc"), "needs root, busybox-static and runc"))
func snapshotBundleRunsUnderAnOCIRuntime() throws {
  let work = try TempDir()
  let layout = try LayoutBuilder(work.path + "/layout")
  let base = try layout.layer(busyboxLayer)
  let users = try layout.layer(
    """
    add_file("etc/passwd", b"root:x:0:0::/root:/bin/sh\\napp:x:1000:1000::/home/app:/bin/sh\\n")
    add_file("etc/group", b"root:x:0:\\napp:x:1000:\\nextra:x:2000:app\\n")
    add("work", tarfile.DIRTYPE, mode=0o777)
    """)
  var settings = ImageConfig.Config(
    env: ["PATH=/bin", "GREETING=hi"], entrypoint: ["/bin/sh", "-c"],
    cmd: ["echo $GREETING; cat /etc/motd; id -u; id -G; pwd"], workingDir: "/work")
  settings.user = "app"
  let config = ImageConfig(
    platform: .host, config: settings, rootfs: .init(diffIDs: [base.1, users.1]))
  let manifest = Manifest(
    config: try layout.json(config, mediaType: MediaType.ociConfig), layers: [base.0, users.0])
  try layout.index([try layout.json(manifest, mediaType: MediaType.ociManifest)])

  let store = try ContentStore(root: work.path + "/store")
  let image = try #require(try store.load(from: layout.dir).first)
  let snapshot = try store.createSnapshot(id: "run1", image: image)
  defer { try? store.removeSnapshot(id: "run1") }
  try store.mountSnapshot(snapshot)
  var overrides = RunOverrides()
  overrides.env = ["GREETING=hello"]
  let bundle = work.path + "/bundle"
  try store.writeBundle(bundle, image: image, snapshot: snapshot, overrides: overrides)
  // Debian's runc follows runtime-spec 1.0.2 and refuses newer versions.
  try run([
    "sed", "-i", "s/\"ociVersion\" : \"[0-9.]*\"/\"ociVersion\" : \"1.0.2\"/",
    bundle + "/config.json",
  ])
  let output = try run([
    "runc", "--root", work.path + "/runc", "run", "--bundle", bundle, "berth-test-\(getpid())",
  ])
  #expect(output == "hello\nhello from berth\n1000\n1000 2000\n/work\n")
}

@Test(.enabled(if: isRoot, "mounting overlayfs needs root"))
func xattrWhiteoutsHideLowerFilesUnderUserxattrOverlay() throws {
  let work = try TempDir()
  let lowerTar = work.path + "/lower.tar"
  let upperTar = work.path + "/upper.tar"
  try makeLayer(
    lowerTar,
    "add_file('gone', b'1')\nadd_file('kept', b'1')\nadd('d', tarfile.DIRTYPE)\nadd_file('d/old', b'1')\nadd_file('d/x', b'1')"
  )
  try makeLayer(
    upperTar,
    "add_file('.wh.gone', b'')\nadd('d', tarfile.DIRTYPE)\nadd_file('d/.wh.x', b'')\nadd('o', tarfile.DIRTYPE)\nadd_file('o/.wh..wh..opq', b'')"
  )
  var dirs: [String] = []
  for (name, tar) in [("lower", lowerTar), ("upper", upperTar)] {
    let dir = work.path + "/" + name
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
    _ = try LayerUnpacker.unpack(
      blob: tar, into: dir, options: UnpackOptions(rootless: true, name: name, xattrWhiteouts: true)
    )
    dirs.append(dir)
  }
  #expect(FileManager.default.fileExists(atPath: work.path + "/upper/gone"))  // a plain file
  let merged = work.path + "/merged"
  try FileManager.default.createDirectory(atPath: merged, withIntermediateDirectories: false)
  try run([
    "mount", "-t", "overlay", "overlay", "-o", "lowerdir=\(dirs[1]):\(dirs[0]),userxattr", merged,
  ])
  defer { _ = try? run(["umount", merged]) }
  let files = FileManager.default
  #expect(try files.contentsOfDirectory(atPath: merged).sorted() == ["d", "kept", "o"])
  #expect(try files.contentsOfDirectory(atPath: merged + "/d") == ["old"])
}
