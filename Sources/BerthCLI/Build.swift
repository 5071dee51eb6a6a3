// `berth build` (and `berth image build`, `berth buildx build`'s plain
// form): a Containerfile and a context directory become an image, with
// podman's flags and progress (`STEP n/m: ...`, RUN output, the id last).
import ArgumentParser
import BerthBuild
import BerthEngine
import BerthImage
import BerthSystem
import Foundation
import Glibc

struct Build: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build",
    abstract: "Build an image from a Containerfile or Dockerfile.", helpNames: [.long])

  @OptionGroup var global: GlobalOptions
  @OptionGroup var registry: RegistryFlags
  @Option(name: .shortAndLong, help: "Name (and tag) the image; repeatable.") var tag: [String] = []
  @Option(
    name: .shortAndLong,
    help: "The Containerfile (default CONTEXT/Containerfile or Dockerfile; - for stdin).")
  var file: String?
  @Option(
    name: .customLong("build-arg"),
    help: "A build argument NAME=VALUE (NAME alone takes the environment's).")
  var buildArg: [String] = []
  @Option(help: "The stage to build (default the last).") var target: String?
  @Flag(name: .customLong("no-cache"), help: "Run every step, reusing nothing.") var noCache = false
  @Option(help: "Pull the base images: always, missing, never, newer.") var pull = "missing"
  @Option(help: "Keep each step's result for later builds (default true).") var layers = true
  @Flag(help: "Squash this build's new layers into one.") var squash = false
  @Option(help: "A label KEY=VALUE on the image; repeatable.") var label: [String] = []
  @Option(help: "Write the image id to this file.") var iidfile: String?
  @Option(help: "A secret for RUN --mount=type=secret: id=ID,src=PATH.") var secret: [String] = []
  @Option(help: "RUN's network: default, none or host.") var network: String?
  @Option(help: "Seconds since the epoch for created times and every file time (reproducible).")
  var timestamp: Int?
  @Option(help: "Image format: oci or docker.") var format = "oci"
  @Option(
    name: .shortAndLong,
    help: "Also export: type=local,dest=DIR, type=oci,dest=FILE or type=docker,dest=FILE.")
  var output: [String] = []
  @Flag(name: .shortAndLong, help: "Print only the image id.") var quiet = false
  @Argument(help: "The context: a directory, or - for a tar on stdin.") var context = "."

  func run() async throws {
    var temporary: String?
    defer { if let temporary { try? removeTree(temporary) } }
    let engine = try global.engine()
    var contextPath = context
    if context == "-" {
      let directory = engine.store.root + "/ingest/context-" + ContainerNames.randomID().prefix(16)
      try mkdirAll(directory, mode: 0o700)
      temporary = directory
      try engine.store.withStagingPath("context") { path in
        let out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw BerthError.system("create \(path)", currentErrno) }
        defer { close(out) }
        try ContentStore.copyStream(from: 0, to: out, what: "the context on stdin")
        try engine.unpackOnHost(archive: path, into: directory)
      }
      contextPath = directory
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: contextPath, isDirectory: &isDirectory),
      isDirectory.boolValue
    else {
      throw BerthError(
        .notFound, "the build context \(contextPath) is not a directory",
        hint: "give a directory, or - for a tar on stdin")
    }
    contextPath = URL(fileURLWithPath: contextPath).standardizedFileURL.path
    let (text, name, path) = try containerfile(context: contextPath)
    var options = BuildOptions(context: contextPath, containerfile: text, containerfileName: name)
    options.containerfilePath = path
    options.tags = tag
    for item in buildArg {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2 {
        options.buildArgs[parts[0]] = parts[1]
      } else if let value = ProcessInfo.processInfo.environment[parts[0]] {
        options.buildArgs[parts[0]] = value
      }
    }
    options.target = target
    options.noCache = noCache
    options.layers = layers
    options.squash = squash
    for item in label {
      let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
      options.labels[parts[0]] = parts.count == 2 ? parts[1] : ""
    }
    for item in secret {
      var fields: [String: String] = [:]
      for part in item.split(separator: ",") {
        let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
        if pair.count == 2 { fields[pair[0]] = pair[1] }
      }
      guard let id = fields["id"], let source = fields["src"] ?? fields["source"] else {
        throw BerthError(.invalidArgument, "invalid --secret \(item)", hint: "use id=ID,src=PATH")
      }
      guard FileManager.default.fileExists(atPath: source) else {
        throw BerthError(
          .notFound, "secret \(id): \(source) does not exist",
          hint: "give an existing file as src=")
      }
      options.secrets[id] = URL(fileURLWithPath: source).standardizedFileURL.path
    }
    if let network {
      guard ["default", "none", "host", "bridge", "private"].contains(network) else {
        throw BerthError(
          .invalidArgument, "invalid --network \(network)", hint: "use default, none or host")
      }
      options.network = ["none", "host"].contains(network) ? network : nil
    }
    options.timestamp =
      timestamp ?? ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"].flatMap { Int($0) }
    guard let format = BuildOptions.Format(rawValue: format) else {
      throw BerthError(
        .invalidArgument, "invalid --format \(self.format)", hint: "use oci or docker")
    }
    options.format = format
    options.quiet = quiet
    for item in output { options.outputs.append(try Self.parseOutput(item)) }
    guard ["always", "missing", "never", "newer"].contains(pull) else {
      throw BerthError(
        .invalidArgument, "invalid --pull \(pull)", hint: "use always, missing, never or newer")
    }
    let pullPolicy = pull
    let registry = self.registry
    let quiet = self.quiet
    let builder = try Builder(
      engine: engine, root: global.root, runRoot: global.runroot, options: options,
      resolveBase: { name in
        try await resolveImage(
          engine: engine, name, pull: pullPolicy, registry: registry, quiet: quiet
        ).0
      },
      print: { line in
        writeStandardOutput(line + "\n")
      })
    BuildInterrupt.install()
    let image: ImageRecord
    do {
      image = try await builder.build()
    } catch let failure as BuildFailure {
      builder.abandon()
      printError("Error: \(failure.message)")
      if !failure.outputTail.isEmpty {
        printError("Its output ended with:\n  " + failure.outputTail.joined(separator: "\n  "))
      }
      Glibc.exit(failure.exitCode)
    } catch {
      builder.abandon()
      throw error
    }
    try builder.export(image)
    if let iidfile {
      try writeFileAtomically(iidfile, Array(image.id.description.utf8), durable: false)
    }
    print(image.id.encoded)
  }

  /// The Containerfile's text, its name for errors, and its host path.
  func containerfile(context: String) throws -> (String, String, String?) {
    if file == "-" {
      let bytes = FileHandle.standardInput.readDataToEndOfFile()
      return (String(decoding: bytes, as: UTF8.self), "Containerfile", nil)
    }
    let candidates =
      file.map { [$0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0] }
      ?? [context + "/Containerfile", context + "/Dockerfile"]
    for path in candidates where FileManager.default.fileExists(atPath: path) {
      let bytes = try readFile(path, limit: 16 << 20)
      return (
        String(decoding: bytes, as: UTF8.self),
        URL(fileURLWithPath: path).lastPathComponent, path
      )
    }
    throw BerthError(
      .notFound, "no Containerfile or Dockerfile in \(context)",
      hint: "give one with -f FILE")
  }

  static func parseOutput(_ text: String) throws(BerthError) -> BuildOptions.Output {
    var fields: [String: String] = [:]
    for part in text.split(separator: ",") {
      let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
      fields[pair[0]] = pair.count == 2 ? pair[1] : ""
    }
    // podman's shorthand: a bare directory is type=local.
    if fields.count == 1, let only = fields.first, only.value.isEmpty {
      return BuildOptions.Output(kind: .local, destination: only.key)
    }
    guard let type = fields["type"], let kind = BuildOptions.Output.Kind(rawValue: type),
      let dest = fields["dest"]
    else {
      throw BerthError(
        .invalidArgument, "invalid --output \(text)",
        hint: "use type=local,dest=DIR, type=oci,dest=FILE or type=docker,dest=FILE")
    }
    return BuildOptions.Output(kind: kind, destination: dest)
  }
}

/// Writes to fd 1 unbuffered, so progress and RUN output keep their order.
func writeStandardOutput(_ text: String) {
  let bytes = Array(text.utf8)
  bytes.withUnsafeBytes { raw in
    var offset = 0
    while offset < raw.count {
      let n = write(1, raw.baseAddress! + offset, raw.count - offset)
      if n <= 0 { return }
      offset += n
    }
  }
}
