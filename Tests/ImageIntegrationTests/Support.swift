// Shared pieces of the image integration tests: temp dirs, running tools,
// a throwaway docker-registry on 127.0.0.1, and OCI layouts built by hand.
import BerthImage
import BerthOCI
import BerthTestSupport
import Foundation
import Testing

final class TempDir: @unchecked Sendable {
  let path: String

  init() throws {
    var template = Array("/tmp/berth-it-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    path = String(cString: made)
  }

  deinit {
    // Podman's vfs store and snapshots may hold mounts; unmount before removing.
    _ = try? run(["sh", "-c", "grep -o ' \(path)[^ ]*' /proc/mounts | xargs -r -n1 umount -l"])
    try? FileManager.default.removeItem(atPath: path)
  }
}

struct ToolFailure: Error, CustomStringConvertible {
  var description: String
}

/// Runs a program (looked up in PATH) and returns its standard output.
@discardableResult
func run(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = arguments
  if let environment {
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  }
  let output = Pipe()
  let errors = Pipe()
  process.standardOutput = output
  process.standardError = errors
  process.standardInput = FileHandle.nullDevice
  try process.run()
  // Read both pipes concurrently so a chatty tool cannot block on a full pipe.
  nonisolated(unsafe) var err = Data()
  let reader = Thread { err = errors.fileHandleForReading.readDataToEndOfFile() }
  reader.start()
  let out = output.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  while !reader.isFinished { usleep(1000) }
  guard process.terminationStatus == 0 else {
    throw ToolFailure(
      description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
        + String(decoding: err, as: UTF8.self))
  }
  return String(decoding: out, as: UTF8.self)
}

func which(_ tool: String) -> Bool {
  (try? run(["sh", "-c", "command -v \(tool)"])) != nil
}

let isRoot = geteuid() == 0
let hasRegistry = which("docker-registry")
let hasSkopeo = which("skopeo")
let hasUmoci = which("umoci")
let hasPodman = which("podman")
let hasHtpasswd = which("htpasswd")
let hasBusybox = FileManager.default.fileExists(atPath: "/bin/busybox")
let hasPythonCryptography = (try? run(["python3", "-c", "import cryptography"])) != nil

/// The `berth` executable next to the test bundle in the build directory.
let berthPath: String = {
  var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  while url.path != "/" {
    let candidate = url.appendingPathComponent("berth").path
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    url = url.deletingLastPathComponent()
  }
  return "berth"
}()

func freePort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw POSIXError(.EIO) }
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  try withUnsafeMutablePointer(to: &address) { pointer in
    try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
      guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else {
        throw POSIXError(.EADDRINUSE)
      }
    }
  }
  return Int(UInt16(bigEndian: address.sin_port))
}

func canConnect(_ port: Int) -> Bool {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = UInt16(port).bigEndian
  return withUnsafePointer(to: &address) { pointer in
    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
    }
  }
}

/// Starts a server on a free port of 127.0.0.1 and waits until `ready`.
/// The port can be taken by another test's connection before the server
/// binds it; then the server exits, and starts again on another port.
func startServer(
  _ name: String, log: String, ready: (Int) -> Bool = canConnect,
  launch: (Int) throws -> Process
) throws -> (Int, Process) {
  for _ in 0..<3 {
    let port = try freePort()
    let process = try launch(port)
    for _ in 0..<200 where process.isRunning {
      if ready(port) { return (port, process) }
      usleep(50_000)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
  let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
  throw ToolFailure(description: "\(name) did not start: \(text.suffix(500))")
}

/// Debian's docker-registry (distribution v2) on 127.0.0.1, storage in a
/// temp dir, stopped when the value goes away.
final class Registry: @unchecked Sendable {
  let dir: TempDir
  let port: Int
  let process: Process
  var host: String { "127.0.0.1:\(port)" }
  var storage: String { dir.path + "/data" }

  /// `auth` is extra YAML under `auth:` (htpasswd or token); `tls` is a
  /// (certificate, key) pair to serve HTTPS. A free port can be taken by
  /// another test's connection before the registry binds it: then the
  /// registry exits and starts again on another port.
  init(auth: String? = nil, tls: (String, String)? = nil) throws {
    let dir = try TempDir()
    self.dir = dir
    (port, process) = try startServer("docker-registry", log: dir.path + "/registry.log") {
      try Registry.start(in: dir.path, port: $0, auth: auth, tls: tls)
    }
  }

  static func start(in dir: String, port: Int, auth: String?, tls: (String, String)?) throws
    -> Process
  {
    var config = """
      version: 0.1
      log:
        level: error
      storage:
        filesystem:
          rootdirectory: \(dir)/data
        delete:
          enabled: true
      http:
        addr: 127.0.0.1:\(port)
      """
    if let tls { config += "\n  tls:\n    certificate: \(tls.0)\n    key: \(tls.1)" }
    if let auth { config += "\nauth:\n" + auth }
    try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
    process.arguments = ["serve", dir + "/config.yml"]
    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    let log = dir + "/registry.log"
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    process.standardError = FileHandle(forWritingAtPath: log)
    try process.run()
    return process
  }

  deinit {
    // SIGKILL: a child may inherit a signal mask that blocks SIGTERM.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// Path of a blob in the registry's filesystem storage.
  func blobData(_ digest: Digest) -> String {
    "\(storage)/docker/registry/v2/blobs/sha256/\(digest.encoded.prefix(2))/\(digest.encoded)/data"
  }
}

/// Builds OCI image layouts by hand, so tests control every byte: layers
/// come from Python's tarfile, digests from a scratch content store.
struct LayoutBuilder {
  let dir: String
  let scratch: ContentStore

  init(_ dir: String) throws {
    self.dir = dir
    try FileManager.default.createDirectory(
      atPath: dir + "/blobs/sha256", withIntermediateDirectories: true)
    scratch = try ContentStore(root: dir + ".scratch")
    try #"{"imageLayoutVersion":"1.0.0"}"#.write(
      toFile: dir + "/oci-layout", atomically: true, encoding: .utf8)
  }

  func blob(_ bytes: [UInt8], mediaType: String, platform: Platform? = nil) throws -> Descriptor {
    let digest = try scratch.writeBlob(bytes)
    try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/blobs/sha256/\(digest.encoded)"))
    return Descriptor(
      mediaType: mediaType, digest: digest, size: Int64(bytes.count), platform: platform)
  }

  func json<T: Encodable>(_ value: T, mediaType: String, platform: Platform? = nil) throws
    -> Descriptor
  {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try blob(Array(try encoder.encode(value)), mediaType: mediaType, platform: platform)
  }

  /// A gzip layer from Python tarfile code (see `makeLayer`), with its diff id.
  func layer(_ python: String) throws -> (Descriptor, Digest) {
    let tar = dir + ".layer.tar"
    try makeLayer(tar, python)
    let raw = Array(try Data(contentsOf: URL(fileURLWithPath: tar)))
    let diffID = try scratch.writeBlob(raw)
    try run(["gzip", "-n", "-f", tar])
    let gz = Array(try Data(contentsOf: URL(fileURLWithPath: tar + ".gz")))
    return (try blob(gz, mediaType: MediaType.ociLayerGzip), diffID)
  }

  /// An image manifest over `layers` for `platform`.
  func image(
    layers: [(Descriptor, Digest)], platform: Platform = .host, cmd: [String] = ["sh"]
  ) throws -> Descriptor {
    let config = ImageConfig(
      platform: platform, config: .init(env: ["PATH=/bin"], cmd: cmd),
      rootfs: .init(diffIDs: layers.map(\.1)),
      history: layers.map { _ in .init(created: "2026-01-01T00:00:00Z", createdBy: "test") },
      created: "2026-01-01T00:00:00Z")
    let configDescriptor = try json(config, mediaType: MediaType.ociConfig)
    let manifest = Manifest(config: configDescriptor, layers: layers.map(\.0))
    return try json(manifest, mediaType: MediaType.ociManifest, platform: platform)
  }

  /// Writes index.json naming `manifests` (with `tag` as ref.name).
  func index(_ manifests: [Descriptor], tag: String = "latest") throws {
    var annotated = manifests
    if annotated.count == 1 { annotated[0].annotations = [AnnotationKey.refName: tag] }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    try encoder.encode(Index(manifests: annotated)).write(
      to: URL(fileURLWithPath: dir + "/index.json"))
  }
}

/// Writes a tar with Python's tarfile (see BerthTestSupport's `tarScript`
/// for what `body` has in scope).
func makeLayer(_ path: String, _ body: String) throws {
  try run(["python3", "-c", tarScript(mtime: 1_700_000_000, body: body), path])
}

/// A busybox root filesystem: the static busybox and a few applet links.
let busyboxLayer = """
  add("bin", tarfile.DIRTYPE, mode=0o755)
  add_host("/bin/busybox", "bin/busybox", mode=0o755)
  for applet in ["sh", "ls", "cat", "echo", "true"]:
      add("bin/" + applet, tarfile.SYMTYPE, linkname="busybox")
  add("etc", tarfile.DIRTYPE, mode=0o755)
  add_file("etc/motd", b"hello from berth\\n", mode=0o644)
  add_file("etc/shadow", b"root:*:1::::::\\n", mode=0o600, uid=0, gid=42)
  add("tmp", tarfile.DIRTYPE, mode=0o1777)
  add_file("usr/bin/suid", b"x", mode=0o4755)
  add("usr/bin/hard", tarfile.LNKTYPE, linkname="usr/bin/suid")
  """

/// `find`-style listing of a tree (type, mode, owner, size, link, mtime of
/// non-directories), sorted, for comparing unpacked filesystems.
func listing(_ root: String) throws -> [String] {
  try run([
    "sh", "-c", "cd '\(root)' && find . -mindepth 1 -printf '%P|%y|%m|%U|%G|%s|%l|%n\\n' | sort",
  ])
  .split(separator: "\n").map(String.init)
}

@discardableResult
func berth(_ root: String, _ arguments: [String], environment: [String: String]? = nil) throws
  -> String
{
  try run([berthPath, "--root", root] + arguments, environment: environment)
}
