import BerthImage
import BerthOCI
import BerthSystem
import Foundation
import Testing

private func storeFiles(_ store: ContentStore, _ sub: String) throws -> [String] {
  try FileManager.default.contentsOfDirectory(atPath: store.root + "/" + sub)
}

@Test func blobsAreVerifiedBeforeTheyAreStored() throws {
  let dir = try TempDir()
  let store = try ContentStore(root: dir.path)
  let good = try store.writeBlob(Array("hello".utf8))
  #expect(
    good.description == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
  #expect(try store.readBlob(good) == Array("hello".utf8))

  let wrong = try Digest(parsing: "sha256:" + String(repeating: "0", count: 64))
  let writer = try store.ingest(expected: wrong, size: 5)
  try writer.write(Array("world".utf8))
  let error = #expect(throws: BerthError.self) { try writer.commit() }
  #expect(error?.message.contains("digest mismatch") == true)
  #expect(!store.hasBlob(wrong))
  #expect(try storeFiles(store, "ingest").isEmpty)
  #expect(try storeFiles(store, "blobs/sha256") == [good.encoded])
}

@Test func blobsLargerOrSmallerThanDeclaredAreRefused() throws {
  let dir = try TempDir()
  let store = try ContentStore(root: dir.path)
  let digest = try store.writeBlob(Array("0123456789".utf8))
  try FileManager.default.removeItem(atPath: store.blobPath(digest))

  let tooLong = try store.ingest(expected: digest, size: 4)
  #expect(throws: BerthError.self) { try tooLong.write(Array("0123456789".utf8)) }
  let tooShort = try store.ingest(expected: digest, size: 20)
  try tooShort.write(Array("0123456789".utf8))
  #expect(throws: BerthError.self) { try tooShort.commit() }
  #expect(!store.hasBlob(digest))
  #expect(try storeFiles(store, "ingest").isEmpty)
}

@Test func chainIDsFollowTheImageSpec() throws {
  let a = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
  let b = try Digest(parsing: "sha256:" + String(repeating: "b", count: 64))
  let chains = ContentStore.chainIDs([a, b])
  #expect(chains[0] == a)
  let expected = try run(["sh", "-c", "printf '%s' '\(a) \(b)' | sha256sum"])
  #expect(chains[1].encoded == String(expected.prefix(64)))
}

private func record(_ id: Character, names: [String]) throws -> ImageRecord {
  let digest = try Digest(parsing: "sha256:" + String(repeating: id, count: 64))
  return ImageRecord(
    id: digest, manifest: digest, manifestMediaType: MediaType.ociManifest, digests: [digest],
    names: names, created: nil, added: "2026-01-01T00:00:00Z", size: 1)
}

@Test func imageRecordsResolveByNameIdPrefixAndDigest() throws {
  let dir = try TempDir()
  let store = try ContentStore(root: dir.path)
  try store.addImage(try record("a", names: ["docker.io/library/busybox:latest"]))
  try store.addImage(try record("b", names: ["localhost:5000/app:1", "localhost/mine:latest"]))
  #expect(try store.resolveImage("busybox").id.encoded.first == "a")
  #expect(try store.resolveImage("docker.io/library/busybox").id.encoded.first == "a")
  #expect(try store.resolveImage("bbbbbb").id.encoded.first == "b")
  #expect(try store.resolveImage("mine").id.encoded.first == "b")
  #expect(
    try store.resolveImage("localhost:5000/app@sha256:" + String(repeating: "b", count: 64))
      .id.encoded.first == "b")
  #expect(throws: BerthError.self) { try store.resolveImage("nothere") }
  // A name moves to the image that takes it.
  try store.addImage(try record("c", names: ["docker.io/library/busybox:latest"]))
  #expect(try store.resolveImage("busybox").id.encoded.first == "c")
  #expect(try store.images().first { $0.id.encoded.first == "a" }?.names == [])
}

@Test func concurrentRecordUpdatesDoNotLoseImages() async throws {
  let dir = try TempDir()
  let root = dir.path
  _ = try ContentStore(root: root)
  let ids = Array("0123456789abcdef")
  // Separate store objects stand in for separate berth processes: the
  // flock and the atomic rename keep every update.
  try await withThrowingTaskGroup(of: Void.self) { group in
    for id in ids {
      group.addTask {
        let store = try ContentStore(root: root)
        try store.addImage(try record(id, names: ["localhost/img\(id):latest"]))
      }
    }
    try await group.waitForAll()
  }
  #expect(try ContentStore(root: root).images().count == ids.count)
}

@Test func registriesConfSubsetIsRead() {
  let conf = RegistriesConf.parse(
    """
    # comment
    unqualified-search-registries = ["registry.fedoraproject.org",
      "docker.io"]

    [[registry]]
    location = "localhost:5000"
    insecure = true

    [[registry]]
    location = "evil.example.com"
    blocked = true
    """)
  #expect(conf.unqualifiedSearch == ["registry.fedoraproject.org", "docker.io"])
  #expect(conf.isInsecure("localhost:5000"))
  #expect(!conf.isInsecure("docker.io"))
  #expect(conf.blocked == ["evil.example.com"])
}

@Test func authFileRoundTrips() throws {
  let dir = try TempDir()
  let file = AuthFile(path: dir.path + "/containers/auth.json")
  try file.store(Credentials(username: "user", password: "p:ss"), for: "localhost:5000")
  #expect(
    file.credentials(for: "localhost:5000") == Credentials(username: "user", password: "p:ss"))
  let json = try String(contentsOfFile: file.path, encoding: .utf8)
  #expect(json.contains("dXNlcjpwOnNz"))
  #expect(try file.store(nil, for: "localhost:5000"))
  #expect(file.credentials(for: "localhost:5000") == nil)
}

@Test func shortNamesSearchTheConfiguredRegistries() throws {
  var conf = RegistriesConf()
  let short = try Reference(parsing: "busybox:1")
  #expect(ContentStore.pullCandidates(short, conf: conf) == [short])
  conf.unqualifiedSearch = ["quay.io", "docker.io"]
  #expect(
    ContentStore.pullCandidates(short, conf: conf).map(\.description) == [
      "quay.io/busybox:1", "docker.io/library/busybox:1",
    ])
  let qualified = try Reference(parsing: "localhost:5000/busybox")
  #expect(ContentStore.pullCandidates(qualified, conf: conf) == [qualified])
}

@Test func hugeDeclaredSizesAreRefusedBeforeWriting() throws {
  let dir = try TempDir()
  let store = try ContentStore(root: dir.path)
  let digest = try Digest(parsing: "sha256:" + String(repeating: "e", count: 64))
  let error = #expect(throws: BerthError.self) { try store.ingest(expected: digest, size: 1 << 60) }
  #expect(error?.message.contains("declares") == true)
  #expect(throws: BerthError.self) { try store.ingest(expected: digest, size: -1) }
  #expect(try storeFiles(store, "ingest").isEmpty)
}

@Test func usersResolveFromTheImageWithoutFollowingSymlinks() throws {
  let dir = try TempDir()
  let rootfs = dir.path + "/rootfs"
  try FileManager.default.createDirectory(
    atPath: rootfs + "/etc", withIntermediateDirectories: true)
  try "root:x:0:0::/:/bin/sh\nweb:x:33:33::/:/bin/sh\n".write(
    toFile: rootfs + "/etc/passwd", atomically: true, encoding: .utf8)
  try "root:x:0:\nweb:x:33:\nlogs:x:4:web\n".write(
    toFile: rootfs + "/etc/group", atomically: true, encoding: .utf8)
  #expect(try ContentStore.resolveUser("", rootfs: rootfs) == (0, 0, []))
  #expect(try ContentStore.resolveUser("web", rootfs: rootfs) == (33, 33, [4]))
  #expect(try ContentStore.resolveUser("web:logs", rootfs: rootfs) == (33, 4, []))
  #expect(try ContentStore.resolveUser("1234:5", rootfs: rootfs) == (1234, 5, []))
  #expect(throws: BerthError.self) { try ContentStore.resolveUser("nobody", rootfs: rootfs) }
  // A passwd that is a symlink (here to the host's) is not read.
  try FileManager.default.removeItem(atPath: rootfs + "/etc/passwd")
  try FileManager.default.createSymbolicLink(
    atPath: rootfs + "/etc/passwd", withDestinationPath: "/etc/passwd")
  #expect(throws: BerthError.self) { try ContentStore.resolveUser("root", rootfs: rootfs) }
}
