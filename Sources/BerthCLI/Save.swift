import ArgumentParser
import BerthImage
import BerthSystem
import Glibc

struct Save: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "save", abstract: "Save images to an archive.")

  @OptionGroup var global: GlobalOptions

  @Option(
    name: .shortAndLong,
    help: "Output file (or directory for oci-dir); standard output when not a terminal.")
  var output: String?

  @Option(help: "docker-archive (default), oci-archive or oci-dir.")
  var format: String = "docker-archive"

  @Flag(name: .shortAndLong, help: "Print nothing.")
  var quiet = false

  @Argument(help: "Images; several only for docker-archive.")
  var images: [String]

  func run() throws {
    guard let format = ArchiveFormat(rawValue: format) else {
      throw ValidationError(
        "unknown format \"\(self.format)\": docker-archive, oci-archive or oci-dir")
    }
    let store = try global.store()
    if let output {
      try store.save(images, format: format, to: output)
      return
    }
    guard format != .ociDir else { throw ValidationError("oci-dir needs --output DIR") }
    guard isatty(1) == 0 else {
      throw BerthError(
        .invalidArgument, "refusing to write an archive to a terminal",
        hint: "give --output FILE or redirect standard output")
    }
    try store.withStagingPath("save") { path in
      try store.save(images, format: format, to: path)
      try ContentStore.copyFile(path, to: 1)
    }
  }
}
