import ArgumentParser
import BerthImage

struct Load: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Load images from a docker-archive, oci-archive or oci-dir (detected).")

  @OptionGroup var global: GlobalOptions

  @Option(name: .shortAndLong, help: "Archive file or OCI layout directory.")
  var input: String

  @Flag(name: .shortAndLong, help: "Print nothing.")
  var quiet = false

  func run() throws {
    let records = try global.store().load(from: input)
    guard !quiet else { return }
    for record in records {
      print("Loaded image: \(record.names.first ?? record.id.encoded)")
    }
  }
}
