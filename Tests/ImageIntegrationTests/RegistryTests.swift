// Pull and push against a real registry (Debian's docker-registry on
// 127.0.0.1), cross-checked with skopeo and umoci.
import BerthImage
import BerthOCI
import BerthSystem
import Foundation
import Testing

private let insecure = RegistryOptions(
  tlsVerify: false, registriesConf: RegistriesConf(), authFile: AuthFile(path: "/nonexistent"))

/// A busybox image as an OCI layout, copied into `registry` as `name`.
private func pushBusybox(_ registry: Registry, work: TempDir, name: String) throws -> LayoutBuilder
{
  let layout = try LayoutBuilder(work.path + "/layout")
  try layout.index([try layout.image(layers: [try layout.layer(busyboxLayer)])])
  try run([
    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
    "docker://\(registry.host)/\(name)",
  ])
  return layout
}

@Suite(
  .serialized,
  .enabled(
    if: hasRegistry && hasSkopeo && hasUmoci && hasBusybox,
    "needs docker-registry, skopeo, umoci and busybox-static (Debian packages)"))
struct RegistryTests {
  @Test(.enabled(if: isRoot, "comparing ownership with umoci's unpack needs root"))
  func skopeoPushThenBerthPullMatchesUmociUnpack() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try pushBusybox(registry, work: work, name: "test/busybox:1.0")

    let store = try ContentStore(root: work.path + "/store")
    let image = try await store.pull(
      try Reference(parsing: "\(registry.host)/test/busybox:1.0"), options: insecure)
    #expect(image.names == ["\(registry.host)/test/busybox:1.0"])
    let layers = try store.layerPaths(of: image)
    #expect(layers.count == 1)

    try run(["umoci", "unpack", "--image", "\(layout.dir):latest", work.path + "/bundle"])
    #expect(try listing(layers[0]) == listing(work.path + "/bundle/rootfs"))
    try run(["diff", "-r", "--no-dereference", layers[0], work.path + "/bundle/rootfs"])

    // A second pull fetches nothing new and reuses the unpacked layer.
    let again = try await store.pull(
      try Reference(parsing: "\(registry.host)/test/busybox:1.0"), options: insecure)
    #expect(again.id == image.id)
    #expect(try store.layerPaths(of: again) == layers)
  }

  @Test func berthCLIPullsAndListsAsJSON() throws {
    let registry = try Registry()
    let work = try TempDir()
    _ = try pushBusybox(registry, work: work, name: "cli/busybox")
    let root = work.path + "/store"
    let id = try berth(root, ["pull", "-q", "--tls-verify=false", "\(registry.host)/cli/busybox"])
      .trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(id.count == 64)
    let json = try berth(root, ["images", "--format", "json"])
    let listed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
    #expect(listed?.first?["Id"] as? String == id)
    #expect(listed?.first?["Names"] as? [String] == ["\(registry.host)/cli/busybox:latest"])
    #expect(
      try berth(root, ["images", "-q"]).trimmingCharacters(in: .newlines) == String(id.prefix(12)))
    #expect(
      try berth(root, ["images", "--format", "{{.Repository}}:{{.Tag}} {{.Id}}"])
        == "\(registry.host)/cli/busybox:latest \(id)\n")
    #expect(
      try berth(root, ["image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", id])
        == "linux/\(Platform.host.architecture)\n")
    let inspect = try berth(root, ["image", "inspect", "\(registry.host)/cli/busybox"])
    #expect(inspect.contains("\"Architecture\" : \"\(Platform.host.architecture)\""))
    try berth(root, ["tag", String(id.prefix(12)), "localhost/other:v1"])
    let ambiguous = #expect(throws: ToolFailure.self) {
      try berth(root, ["rmi", String(id.prefix(12))])
    }
    #expect(ambiguous?.description.contains("several names") == true)
    #expect(
      try berth(root, ["rmi", "localhost/other:v1"]).contains("Untagged: localhost/other:v1"))
    #expect(try berth(root, ["rmi", "\(registry.host)/cli/busybox"]).contains("Deleted: \(id)"))
    #expect(try berth(root, ["images", "-q"]).isEmpty)
    // Everything the image had is collected.
    #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256").isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/layers").isEmpty)
  }

  @Test func berthPushThenSkopeoCopyBackMatchesUmociUnpack() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    try layout.index([try layout.image(layers: [try layout.layer(busyboxLayer)])])
    let store = try ContentStore(root: work.path + "/store")
    let loaded = try store.load(from: layout.dir)
    #expect(loaded.count == 1)
    let destination = try Reference(parsing: "\(registry.host)/pushed/busybox:v1")
    let digest = try await store.push(loaded[0], to: destination, options: insecure)

    let inspect = try run([
      "skopeo", "inspect", "--tls-verify=false", "docker://\(destination)",
    ])
    #expect(inspect.contains(digest.description))
    // Pushing again skips every blob and the manifest digest is unchanged.
    #expect(try await store.push(loaded[0], to: destination, options: insecure) == digest)

    try run([
      "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://\(destination)",
      "oci:\(work.path)/back:v1",
    ])
    try run(["umoci", "unpack", "--image", "\(work.path)/back:v1", work.path + "/bundle"])
    try run(["umoci", "unpack", "--image", "\(layout.dir):latest", work.path + "/original"])
    #expect(try listing(work.path + "/bundle/rootfs") == listing(work.path + "/original/rootfs"))
  }

  @Test func indexResolvesToTheRequestedPlatform() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    let amd = try layout.image(
      layers: [try layout.layer("add_file('which', b'amd64')")],
      platform: Platform(os: "linux", architecture: "amd64"))
    let arm = try layout.image(
      layers: [try layout.layer("add_file('which', b'arm64')")],
      platform: Platform(os: "linux", architecture: "arm64", variant: "v8"))
    try layout.index([try layout.json(Index(manifests: [amd, arm]), mediaType: MediaType.ociIndex)])
    var index = try JSONDecoder().decode(
      Index.self, from: Data(contentsOf: URL(fileURLWithPath: layout.dir + "/index.json")))
    index.manifests[0].annotations = [AnnotationKey.refName: "multi"]
    try JSONEncoder().encode(index).write(to: URL(fileURLWithPath: layout.dir + "/index.json"))
    try run([
      "skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false", "oci:\(layout.dir):multi",
      "docker://\(registry.host)/multi:latest",
    ])

    let store = try ContentStore(root: work.path + "/store")
    let reference = try Reference(parsing: "\(registry.host)/multi")
    for (platform, expected) in [("linux/arm64", "arm64"), ("linux/amd64", "amd64")] {
      let image = try await store.pull(
        reference, platform: try Platform(parsing: platform), options: insecure)
      let layer = try #require(try store.layerPaths(of: image).first)
      #expect(try String(contentsOfFile: layer + "/which", encoding: .utf8) == expected)
      #expect(try store.config(of: image).architecture == expected)
    }
    let error = await #expect(throws: BerthError.self) {
      try await store.pull(
        reference, platform: try Platform(parsing: "linux/s390x"), options: insecure)
    }
    #expect(error?.message.contains("no image for linux/s390x") == true)
  }

  @Test func corruptBlobInRegistryIsRefusedAndNothingStored() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    let (layer, diffID) = try layout.layer("add_file('data', b'x' * 100000)")
    try layout.index([try layout.image(layers: [(layer, diffID)])])
    try run([
      "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
      "docker://\(registry.host)/corrupt:latest",
    ])
    // Same size, different bytes: only the digest check can notice.
    let path = registry.blobData(layer.digest)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes[bytes.count / 2] ^= 0xFF
    try bytes.write(to: URL(fileURLWithPath: path))

    let store = try ContentStore(root: work.path + "/store")
    let error = await #expect(throws: BerthError.self) {
      try await store.pull(try Reference(parsing: "\(registry.host)/corrupt"), options: insecure)
    }
    #expect(error?.message.contains("digest mismatch") == true)
    #expect(!store.hasBlob(layer.digest))
    #expect(try store.images().isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: store.root + "/ingest").isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: store.root + "/layers").isEmpty)
  }

  @Test func missingBlobAndUnknownNamesGiveClearErrors() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    let (layer, diffID) = try layout.layer("add_file('data', b'y')")
    try layout.index([try layout.image(layers: [(layer, diffID)])])
    try run([
      "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
      "docker://\(registry.host)/missing:latest",
    ])
    try FileManager.default.removeItem(atPath: registry.blobData(layer.digest))
    let store = try ContentStore(root: work.path + "/store")
    let missing = await #expect(throws: BerthError.self) {
      try await store.pull(try Reference(parsing: "\(registry.host)/missing"), options: insecure)
    }
    #expect(missing?.code == .notFound)
    let unknown = await #expect(throws: BerthError.self) {
      try await store.pull(
        try Reference(parsing: "\(registry.host)/nothing:here"), options: insecure)
    }
    #expect(unknown?.description.contains("404") == true)
    #expect(unknown?.hint?.contains("name and tag") == true)
    #expect(try store.images().isEmpty)
  }

  @Test func unknownMediaTypesAreRefused() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    let (layer, diffID) = try layout.layer("add_file('data', b'z')")
    var odd = layer
    odd.mediaType = "application/vnd.example.unknown"
    _ = try layout.blob(Array("x".utf8), mediaType: "x")
    let config = try layout.json(
      ImageConfig(platform: .host, rootfs: .init(diffIDs: [diffID])), mediaType: MediaType.ociConfig
    )
    let manifest = try layout.json(
      Manifest(config: config, layers: [odd]), mediaType: MediaType.ociManifest)
    try layout.index([manifest])
    try run([
      "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
      "docker://\(registry.host)/odd:latest",
    ])
    let store = try ContentStore(root: work.path + "/store")
    let error = await #expect(throws: BerthError.self) {
      try await store.pull(try Reference(parsing: "\(registry.host)/odd"), options: insecure)
    }
    #expect(error?.message.contains("unknown media type") == true)
  }

  @Test(.enabled(if: hasHtpasswd, "needs htpasswd (Debian's apache2-utils)"))
  func basicAuthRegistryNeedsLogin() async throws {
    let auth = try TempDir()
    try run(["htpasswd", "-Bbc", auth.path + "/htpasswd", "alice", "s3cret"])
    let registry = try Registry(
      auth: "  htpasswd:\n    realm: berth-test\n    path: \(auth.path)/htpasswd\n")
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    try layout.index([try layout.image(layers: [try layout.layer("add_file('a', b'a')")])])
    try run([
      "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds=alice:s3cret",
      "oci:\(layout.dir):latest", "docker://\(registry.host)/private:latest",
    ])
    let root = work.path + "/store"
    let authfile = work.path + "/auth.json"
    // No credentials: a clear 401 with a hint to log in, exit code 125.
    let denied = #expect(throws: ToolFailure.self) {
      try berth(
        root, ["pull", "--tls-verify=false", "--authfile", authfile, "\(registry.host)/private"])
    }
    #expect(denied?.description.contains("exited 125") == true)
    #expect(denied?.description.contains("berth login") == true)
    // A wrong password is refused by login and nothing is stored.
    #expect(throws: ToolFailure.self) {
      try berth(
        root,
        [
          "login", "--tls-verify=false", "--authfile", authfile, "-u", "alice", "-p", "wrong",
          registry.host,
        ])
    }
    #expect(!FileManager.default.fileExists(atPath: authfile))
    let login = try berth(
      root,
      [
        "login", "--tls-verify=false", "--authfile", authfile, "-u", "alice", "-p", "s3cret",
        registry.host,
      ])
    #expect(login.contains("Login Succeeded"))
    let id = try berth(
      root,
      [
        "pull", "-q", "--tls-verify=false", "--authfile", authfile, "\(registry.host)/private",
      ])
    #expect(id.trimmingCharacters(in: .whitespacesAndNewlines).count == 64)
    try berth(
      root,
      [
        "push", "-q", "--tls-verify=false", "--authfile", authfile, "\(registry.host)/private",
        "\(registry.host)/private:copy",
      ])
    #expect(try berth(root, ["logout", "--authfile", authfile, registry.host]).contains("Removed"))
  }

  @Test func concurrentPullsIntoOneStoreShareOneCopy() throws {
    let registry = try Registry()
    let work = try TempDir()
    _ = try pushBusybox(registry, work: work, name: "shared/busybox:1")
    let root = work.path + "/store"
    // Separate berth processes at once: locks and atomic renames let every
    // one succeed while the layer is stored once.
    let processes = (0..<4).map { _ in
      let process = Process()
      process.executableURL = URL(fileURLWithPath: berthPath)
      process.arguments = [
        "--root", root, "pull", "-q", "--tls-verify=false", "\(registry.host)/shared/busybox:1",
      ]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      return process
    }
    for process in processes { try process.run() }
    for process in processes {
      process.waitUntilExit()
      #expect(process.terminationStatus == 0)
    }
    let store = try ContentStore(root: root)
    #expect(try store.images().count == 1)
    #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/layers").count == 1)
    #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
  }

  @Test(.enabled(if: which("openssl"), "needs openssl to make a self-signed certificate"))
  func tlsRegistryWithAnUntrustedCertificate() async throws {
    let certs = try TempDir()
    try run([
      "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", certs.path + "/key.pem", "-out", certs.path + "/cert.pem",
    ])
    let registry = try Registry(tls: (certs.path + "/cert.pem", certs.path + "/key.pem"))
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    try layout.index([try layout.image(layers: [try layout.layer("add_file('tls', b'1')")])])
    try run([
      "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
      "docker://\(registry.host)/secure:latest",
    ])
    let store = try ContentStore(root: work.path + "/store")
    let reference = try Reference(parsing: "\(registry.host)/secure")
    // Verified by default: the self-signed certificate is refused, with a hint.
    var verified = insecure
    verified.tlsVerify = nil
    let refused = await #expect(throws: BerthError.self) {
      try await store.pull(reference, options: verified)
    }
    #expect(refused?.message.contains("TLS") == true)
    #expect(refused?.hint?.contains("--tls-verify=false") == true)
    // --tls-verify=false: HTTPS without verification (the plain probe fails).
    let image = try await store.pull(reference, options: insecure)
    #expect(try store.layerPaths(of: image).count == 1)
  }

  @Test func killedPullLeavesAStoreTheNextPullCompletes() throws {
    let registry = try Registry()
    let work = try TempDir()
    let layout = try LayoutBuilder(work.path + "/layout")
    // Incompressible layers so the pull takes long enough to be interrupted.
    var layers: [(Descriptor, Digest)] = []
    for index in 0..<4 {
      layers.append(try layout.layer("import os\nadd_file('r\(index)', os.urandom(24 << 20))"))
    }
    try layout.index([try layout.image(layers: layers)])
    try run([
      "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
      "docker://\(registry.host)/big:latest",
    ])
    let root = work.path + "/store"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: berthPath)
    process.arguments = [
      "--root", root, "pull", "-q", "--tls-verify=false", "\(registry.host)/big",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    // Kill it once some content has arrived but before it can finish.
    for _ in 0..<400 {
      let ingest = (try? FileManager.default.contentsOfDirectory(atPath: root + "/ingest")) ?? []
      let blobs =
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256")) ?? []
      if !ingest.isEmpty || blobs.count > 1 { break }
      usleep(5_000)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    #expect(process.terminationReason == .uncaughtSignal)
    #expect(try berth(root, ["images", "-q"]).isEmpty)

    let id = try berth(root, ["pull", "-q", "--tls-verify=false", "\(registry.host)/big"])
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let store = try ContentStore(root: root)
    let image = try store.resolveImage(id)
    #expect(try store.layerPaths(of: image).count == 4)
    // Prune sweeps the killed pull's leftovers and keeps all referenced content.
    _ = try store.prune(all: false)
    #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
    #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/layers").count == 4)
    for layer in try store.manifest(of: image).layers { #expect(store.hasBlob(layer.digest)) }
  }
}

@Test(
  .enabled(
    if: isRoot && hasRegistry && hasSkopeo && which("setpriv"),
    "needs root to switch to an unprivileged user with setpriv, docker-registry and skopeo"))
func rootlessPullWithoutSubordinateIDsUsesTheXDGStore() throws {
  let registry = try Registry()
  let work = try TempDir()
  let layout = try LayoutBuilder(work.path + "/layout")
  // A read-only directory with content: rootless, its mode is applied last.
  let lower = try layout.layer(
    "add_file('gone', b'1')\nadd_file('kept', b'1', uid=0)\n"
      + "add('ro', tarfile.DIRTYPE, mode=0o555)\nadd_file('ro/inside', b'1', mode=0o444)")
  let whiteout = try layout.layer("add_file('.wh.gone', b'')")
  let upper = try layout.layer(
    "add_file('.wh.gone', b'')\nadd('dev/null', tarfile.CHRTYPE, devmajor=1, devminor=3)")
  try layout.index([try layout.image(layers: [lower, whiteout])])
  try run([
    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
    "docker://\(registry.host)/rootless:ok",
  ])
  try layout.index([try layout.image(layers: [lower, upper])])
  try run([
    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
    "docker://\(registry.host)/rootless:devices",
  ])
  let home = work.path + "/home"
  try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
  try run(["chmod", "0777", work.path, home])
  @discardableResult
  func rootlessBerth(_ arguments: [String]) throws -> String {
    try run(
      [
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i",
        "HOME=\(home)", "XDG_DATA_HOME=\(home)/data", "XDG_RUNTIME_DIR=\(home)/run", berthPath,
      ] + arguments)
  }
  let id = try rootlessBerth(["pull", "-q", "--tls-verify=false", "\(registry.host)/rootless:ok"])
  #expect(id.trimmingCharacters(in: .newlines).count == 64)
  let store = try ContentStore(root: home + "/data/berth", rootless: true)
  let paths = try store.layerPaths(of: try store.resolveImage("\(registry.host)/rootless:ok"))
  #expect(paths.count == 2)
  #expect(FileManager.default.fileExists(atPath: paths[0] + "/ro/inside"))
  let readOnly = try FileManager.default.attributesOfItem(atPath: paths[0] + "/ro")
  #expect((readOnly[.posixPermissions] as? Int) == 0o555)
  // Linux lets unprivileged users create 0:0 whiteout devices (since 5.8);
  // where it refuses, the unpacker falls back to xattr whiteouts.
  var st = stat()
  #expect(lstat(paths[1] + "/gone", &st) == 0)
  #expect(st.st_mode & S_IFMT == S_IFCHR && st.st_rdev == 0 && st.st_uid == 65534)
  // The image's device node cannot be created without privileges: refused.
  let refused = #expect(throws: ToolFailure.self) {
    try rootlessBerth(["pull", "-q", "--tls-verify=false", "\(registry.host)/rootless:devices"])
  }
  #expect(refused?.description.contains("device node") == true)
  #expect(refused?.description.contains("exited 125") == true)
  // Removing it as the same user empties read-only directories too.
  try rootlessBerth(["rmi", "\(registry.host)/rootless:ok"])
  #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/data/berth/layers").isEmpty)
}

/// A non-root user with subordinate IDs in /etc/subuid and /etc/subgid.
private let subordinateUser: (name: String, uid: UInt32, gid: UInt32, start: UInt32)? = {
  guard let text = try? String(contentsOfFile: "/etc/subuid", encoding: .utf8),
    let groups = try? String(contentsOfFile: "/etc/subgid", encoding: .utf8)
  else { return nil }
  for line in text.split(separator: "\n") {
    let fields = line.split(separator: ":")
    guard fields.count == 3, let start = UInt32(fields[1]), let count = UInt32(fields[2]),
      count >= 65536, let entry = getpwnam(String(fields[0])), entry.pointee.pw_uid != 0,
      let groupStart = UserNamespace.range(
        in: groups, user: String(fields[0]), id: entry.pointee.pw_gid)?.start,
      groupStart == start
    else { continue }
    return (String(fields[0]), entry.pointee.pw_uid, entry.pointee.pw_gid, start)
  }
  return nil
}()

@Test(
  .enabled(
    if: isRoot && hasRegistry && hasSkopeo && subordinateUser != nil && which("setpriv")
      && which("newuidmap"),
    "needs root (to become a user with /etc/subuid and /etc/subgid ranges of 65536), newuidmap, docker-registry and skopeo"
  ))
func rootlessPullInAUserNamespaceKeepsOwners() throws {
  let user = try #require(subordinateUser)
  let registry = try Registry()
  let work = try TempDir()
  let layout = try LayoutBuilder(work.path + "/layout")
  let layer = try layout.layer(
    """
    add("home/app", tarfile.DIRTYPE, mode=0o700, uid=1000, gid=1000)
    add_file("home/app/notes", b"mine", mode=0o600, uid=1000, gid=1000)
    add_file("etc/shadow", b"root:*:1::::::\\n", mode=0o640, uid=0, gid=42)
    add_file("bin/su", b"x", mode=0o4755)
    """)
  try layout.index([try layout.image(layers: [layer])])
  try run([
    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
    "docker://\(registry.host)/owners:1",
  ])
  let home = work.path + "/home"
  try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
  try run(["chown", "\(user.uid):\(user.gid)", home])
  try run(["chmod", "0755", work.path])
  @discardableResult
  func asUser(_ arguments: [String]) throws -> String {
    try run(
      [
        "setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--init-groups", "env", "-i",
        "HOME=\(home)", "XDG_DATA_HOME=\(home)/data", "USER=\(user.name)", berthPath,
      ] + arguments)
  }
  let id = try asUser(["pull", "-q", "--tls-verify=false", "\(registry.host)/owners:1"])
  let store = try ContentStore(root: home + "/data/berth", rootless: true, helper: nil)
  let diff = try #require(
    try store.layerPaths(of: try store.resolveImage(id.trimmingCharacters(in: .newlines))).first)
  func owner(_ path: String) -> (UInt32, UInt32, UInt32) {
    var st = stat()
    lstat(diff + "/" + path, &st)
    return (st.st_uid, st.st_gid, st.st_mode & 0o7777)
  }
  // Namespace root is the user; namespace ID n > 0 is subordinate start + n - 1.
  #expect(owner("home/app/notes") == (user.start + 999, user.start + 999, 0o600))
  #expect(owner("home/app") == (user.start + 999, user.start + 999, 0o700))
  #expect(owner("etc/shadow") == (user.uid, user.start + 41, 0o640))
  #expect(owner("bin/su") == (user.uid, user.gid, 0o4755))
  // Removal runs in the namespace too, so nothing is left behind.
  try asUser(["rmi", id.trimmingCharacters(in: .newlines)])
  #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/data/berth/layers").isEmpty)
}
