// Archives exchanged with podman: berth save → podman load, podman save →
// berth load, in throwaway podman stores.
import BerthImage
import BerthOCI
import BerthSystem
import Foundation
import Testing

/// podman with its own root, runroot and tmpdir under `dir` (the default tmpdir,
/// /run/libpod, is shared by concurrent podman runs), vfs so no mounts are needed.
@discardableResult
private func podman(_ dir: TempDir, _ arguments: [String]) throws -> String {
  try run(
    [
      "podman", "--root", dir.path + "/podman", "--runroot", dir.path + "/podman-run",
      "--tmpdir", dir.path + "/podman-tmp",
      "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none",
    ] + arguments)
}

@Suite(
  .serialized,
  .enabled(
    if: hasPodman && hasBusybox && isRoot, "needs podman (Debian package) and root for its store"))
struct ArchiveTests {
  private func busyboxStore(_ work: TempDir) throws -> (String, String) {
    let layout = try LayoutBuilder(work.path + "/layout")
    try layout.index([try layout.image(layers: [try layout.layer(busyboxLayer)])])
    let root = work.path + "/store"
    _ = try berth(root, ["load", "-q", "-i", layout.dir])
    let id = try berth(root, ["images", "-q", "--no-trunc"])
      .trimmingCharacters(in: .whitespacesAndNewlines)
    try berth(root, ["tag", id, "localhost/busybox:test"])
    return (root, id)
  }

  @Test(arguments: ["docker-archive", "oci-archive"])
  func berthSaveThenPodmanLoad(format: String) throws {
    let work = try TempDir()
    let (root, id) = try busyboxStore(work)
    let archive = work.path + "/image.tar"
    try berth(root, ["save", "--format", format, "-o", archive, "localhost/busybox:test"])
    let loaded = try podman(work, ["load", "-q", "-i", archive])
    #expect(loaded.contains("localhost/busybox:test"))
    let podmanID = try podman(
      work, ["image", "inspect", "--format", "{{.Id}}", "localhost/busybox:test"])
    #expect(
      podmanID.trimmingCharacters(in: .whitespacesAndNewlines)
        == id.replacingOccurrences(of: "sha256:", with: ""))
  }

  @Test(arguments: ["docker-archive", "oci-archive", "oci-dir"])
  func podmanSaveThenBerthLoad(format: String) throws {
    let work = try TempDir()
    let (root, id) = try busyboxStore(work)
    let archive = work.path + "/from-berth.tar"
    try berth(root, ["save", "-o", archive, "localhost/busybox:test"])
    _ = try podman(work, ["load", "-q", "-i", archive])
    let saved = work.path + "/from-podman"
    try podman(work, ["save", "--format", format, "-o", saved, "localhost/busybox:test"])

    let fresh = work.path + "/fresh"
    let output = try berth(fresh, ["load", "-i", saved])
    #expect(output.contains("Loaded image: localhost/busybox:test"))
    let reloaded = try berth(fresh, ["images", "-q", "--no-trunc"])
      .trimmingCharacters(in: .whitespacesAndNewlines)
    // A docker-archive keeps the config byte for byte; podman rewrites it
    // when it converts to OCI, so there only the content is compared.
    if format == "docker-archive" { #expect(reloaded == id) }
    #expect(reloaded.count == 71)
    let store = try ContentStore(root: fresh)
    let image = try store.resolveImage("localhost/busybox:test")
    let layer = try #require(try store.layerPaths(of: image).first)
    #expect(
      try String(contentsOfFile: layer + "/etc/motd", encoding: .utf8) == "hello from berth\n")
  }

  @Test func severalImagesInOneDockerArchive() throws {
    let work = try TempDir()
    let (root, _) = try busyboxStore(work)
    let layout = try LayoutBuilder(work.path + "/second")
    try layout.index([try layout.image(layers: [try layout.layer("add_file('second', b'2')")])])
    let loaded = try ContentStore(root: root).load(from: layout.dir)
    try berth(root, ["tag", loaded[0].id.encoded, "localhost/second:v2"])
    let archive = work.path + "/both.tar"
    try berth(root, ["save", "-o", archive, "localhost/busybox:test", "localhost/second:v2"])
    let fresh = work.path + "/fresh"
    let output = try berth(fresh, ["load", "-i", archive])
    #expect(output.contains("localhost/busybox:test"))
    #expect(output.contains("localhost/second:v2"))
    #expect(try berth(fresh, ["images", "-q"]).split(separator: "\n").count == 2)
  }

  @Test func hostileArchiveIsRefusedOnLoad() throws {
    let work = try TempDir()
    let archive = work.path + "/evil.tar"
    try makeLayer(archive, "add_file('manifest.json', b'[]')\nadd_file('../../escaped', b'x')")
    let error = #expect(throws: ToolFailure.self) {
      try berth(work.path + "/store", ["load", "-i", archive])
    }
    #expect(error?.description.contains("`..`") == true)
    #expect(!FileManager.default.fileExists(atPath: work.path + "/escaped"))
    #expect(!FileManager.default.fileExists(atPath: "/tmp/escaped"))
  }
}

/// docker save links a repeated layer to its first copy; links are followed
/// inside the archive only.
@Test func archiveMembersFollowSymlinksOnlyInside() throws {
  let work = try TempDir()
  let dir = work.path + "/archive"
  try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
  try FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: true)
  try "x".write(toFile: dir + "/a/layer.tar", atomically: true, encoding: .utf8)
  try FileManager.default.createSymbolicLink(
    atPath: dir + "/b/layer.tar", withDestinationPath: "../a/layer.tar")
  try FileManager.default.createSymbolicLink(atPath: dir + "/up", withDestinationPath: "../secret")
  try FileManager.default.createSymbolicLink(
    atPath: dir + "/abs", withDestinationPath: "/etc/passwd")
  try FileManager.default.createSymbolicLink(atPath: dir + "/loop", withDestinationPath: "loop")
  let store = try ContentStore(root: work.path + "/store")
  #expect(try store.member(dir, "b/layer.tar") == dir + "/a/layer.tar")
  for bad in ["up", "abs", "loop", "../x", "/etc/passwd", "b/../../x", "a"] {
    #expect(throws: BerthError.self, "\(bad)") { try store.member(dir, bad) }
  }
}

@Test func saveToStandardOutputLoadsFromStandardInput() throws {
  let work = try TempDir()
  let layout = try LayoutBuilder(work.path + "/layout")
  try layout.index([try layout.image(layers: [try layout.layer("add_file('piped', b'yes')")])])
  let source = work.path + "/source"
  let target = work.path + "/target"
  let id = try #require(try ContentStore(root: source).load(from: layout.dir).first).id
  try berth(source, ["tag", id.encoded, "localhost/piped:1"])
  for format in ["docker-archive", "oci-archive"] {
    let output = try run([
      "sh", "-c",
      "'\(berthPath)' --root '\(source)' save --format \(format) localhost/piped:1"
        + " | '\(berthPath)' --root '\(target)' load",
    ])
    #expect(output == "Loaded image: localhost/piped:1\n")
  }
  #expect((try? berth(target, ["image", "exists", "localhost/piped:1"])) != nil)
  let missing = #expect(throws: ToolFailure.self) {
    try berth(target, ["image", "exists", "localhost/absent:1"])
  }
  #expect(missing?.description.contains("exited 1:") == true)
}
