// diff, export, import, commit, cp.
import ArgumentParser
import BerthEngine
import BerthImage
import BerthSystem
import Foundation
import Glibc

struct Diff: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff", abstract: "Show a container's changed files.")
  @OptionGroup var global: GlobalOptions
  @Option(help: "json or a Go template.") var format: String?
  @Argument(help: "Container.") var container: String

  func run() throws {
    let changes = try global.engine().diff(container)
    if format == "json" {
      var grouped: [String: [String]] = [:]
      for (kind, path) in changes {
        grouped[kind == .added ? "added" : kind == .changed ? "changed" : "deleted", default: []]
          .append(path)
      }
      return try printJSON(grouped)
    }
    if let format {
      return try printTemplate(format, changes.map { ["Kind": $0.0.rawValue, "Path": $0.1] })
    }
    for (kind, path) in changes { print("\(kind.rawValue) \(path)") }
  }
}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a container's filesystem as a tar.")
  @OptionGroup var global: GlobalOptions
  @Option(name: .shortAndLong, help: "Write to this file (default: standard output).") var output:
    String?
  @Argument(help: "Container.") var container: String

  func run() throws {
    let engine = try global.engine()
    guard let output else {
      guard isatty(1) == 0 else {
        throw BerthError(
          .invalidArgument, "refusing to write a tar to a terminal", hint: "use -o FILE or a pipe")
      }
      return try engine.export(container, to: 1)
    }
    let fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw BerthError.system("cannot create \(output)", currentErrno) }
    defer { close(fd) }
    try engine.export(container, to: fd)
  }
}

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import",
    abstract: "Make an image from a root filesystem tarball.")
  @OptionGroup var global: GlobalOptions
  @Option(
    name: [.short, .customLong("change")], help: "Dockerfile instruction, e.g. CMD [\"sh\"].")
  var change: [String] = []
  @Option(name: .shortAndLong, help: "Commit message.") var message: String?
  @Flag(name: .shortAndLong, help: "Print only the image id.") var quiet = false
  @Argument(help: "Tarball path, or - for standard input.") var source: String
  @Argument(help: "Image name.") var reference: String?

  func run() throws {
    let engine = try global.engine()
    let record = try engine.store.withStagingPath("import") { path in
      if source == "-" {
        try ContentStore.copyToFile(from: 0, path)
      } else {
        guard FileManager.default.fileExists(atPath: source) else {
          throw BerthError(.notFound, "\(source) does not exist")
        }
        try FileManager.default.copyItem(atPath: source, toPath: path)
      }
      return try engine.importImage(
        tarball: path, name: reference, changes: change, message: message)
    }
    print(quiet ? record.id.encoded : record.id.description)
  }
}

struct Commit: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "commit",
    abstract: "Make an image from a container's changes.")
  @OptionGroup var global: GlobalOptions
  @Option(
    name: [.short, .customLong("change")], help: "Dockerfile instruction, e.g. CMD [\"sh\"].")
  var change: [String] = []
  @Option(name: .shortAndLong, help: "Commit message.") var message: String?
  @Option(name: .shortAndLong, help: "Author.") var author: String?
  @Flag(name: .shortAndLong, help: "Print only the image id.") var quiet = false
  @Argument(help: "Container.") var container: String
  @Argument(help: "Image name.") var reference: String?

  func run() throws {
    let record = try global.engine().commit(
      container, name: reference, changes: change, message: message, author: author)
    print(record.id.encoded)
  }
}

struct Cp: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cp",
    abstract: "Copy files between a container and the host (CONTAINER:PATH; - is a tar stream).")
  @OptionGroup var global: GlobalOptions
  @Flag(name: .shortAndLong, help: "Keep the files' owners (uid and gid).") var archive = false
  @Argument(help: "Source.") var source: String
  @Argument(help: "Destination.") var destination: String

  func split(_ text: String) -> (String, String)? {
    guard !text.hasPrefix("/"), !text.hasPrefix("."), let colon = text.firstIndex(of: ":") else {
      return nil
    }
    return (String(text[..<colon]), String(text[text.index(after: colon)...]))
  }

  func run() throws {
    let engine = try global.engine()
    switch (split(source), split(destination)) {
    case (let (container, path)?, nil):
      try copyOut(engine, container, path)
    case (nil, let (container, path)?):
      try copyIn(engine, container, path)
    default:
      throw BerthError(
        .invalidArgument,
        "one of source and destination must be CONTAINER:PATH, the other a host path or -")
    }
  }

  func copyOut(_ engine: Engine, _ container: String, _ path: String) throws {
    if destination == "-" { return try engine.copyOut(container, path: path, to: 1) }
    try engine.store.withStagingPath("cp") { tar in
      let fd = open(tar, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      guard fd >= 0 else { throw BerthError.system("cannot create \(tar)", currentErrno) }
      defer { close(fd) }
      try engine.copyOut(container, path: path, to: fd)
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory),
        isDirectory.boolValue
      {
        return try engine.unpackOnHost(archive: tar, into: destination)
      }
      // A new name: unpacked beside it, then renamed into place.
      let parent = (destination as NSString).deletingLastPathComponent
      let staging = (parent.isEmpty ? "." : parent) + "/.berth-cp-\(getpid())"
      try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
      defer { try? FileManager.default.removeItem(atPath: staging) }
      try engine.unpackOnHost(archive: tar, into: staging)
      let name = path.split(separator: "/").last.map(String.init) ?? "."
      guard rename(staging + "/" + name, destination) == 0 else {
        throw BerthError.system("cannot move the copy to \(destination)", currentErrno)
      }
    }
  }

  func copyIn(_ engine: Engine, _ container: String, _ path: String) throws {
    try engine.store.withStagingPath("cp") { tar in
      var target = path
      if source == "-" {
        try ContentStore.copyToFile(from: 0, tar)
      } else {
        guard FileManager.default.fileExists(atPath: source) else {
          throw BerthError(.notFound, "\(source) does not exist")
        }
        let url = URL(fileURLWithPath: source)
        let name = url.lastPathComponent
        var arguments = [
          "tar", "--numeric-owner", "-C", url.deletingLastPathComponent().path, "-cf", tar,
        ]
        if try engine.isDirectory(container, path: path) != true {
          // CONTAINER:/new/name: the entry takes the new name in its parent.
          let newName = (path as NSString).lastPathComponent
          target = (path as NSString).deletingLastPathComponent
          if target.isEmpty { target = "/" }
          let escape = { (text: String) in
            text.map { "\\^$.*[]|&".contains($0) ? "\\\($0)" : String($0) }.joined()
          }
          arguments += ["--transform", "s|^\(escape(name))|\(escape(newName))|"]
        }
        let status = try ChildProcess.run(arguments + ["--", name], path: "/bin/tar")
        guard status == 0 else { throw BerthError(.system, "tar of \(source) failed") }
      }
      try engine.copyIn(container, archive: tar, to: target, keepOwners: archive)
    }
  }
}
