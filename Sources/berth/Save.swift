import ArgumentParser
import BerthImage

struct Save: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Save images to an archive.")

  @OptionGroup var global: GlobalOptions

  @Option(name: .shortAndLong, help: "Output file (or directory for oci-dir).")
  var output: String

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
    try global.store().save(images, format: format, to: output)
  }
}
