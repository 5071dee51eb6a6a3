import ArgumentParser
import BerthEngine
import BerthImage
import BerthSystem
import Glibc

struct Load: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "load",
    abstract: "Load images from a docker-archive, oci-archive or oci-dir (detected).")

  @OptionGroup var global: GlobalOptions

  @Option(
    name: .shortAndLong, help: "Archive file or OCI layout directory (default: standard input).")
  var input: String?

  @Flag(name: .shortAndLong, help: "Print nothing.")
  var quiet = false

  func run() throws {
    let store = try global.store()
    let records: [ImageRecord]
    if let input {
      records = try store.load(from: input)
    } else {
      guard isatty(0) == 0 else {
        throw BerthError(
          .invalidArgument, "no archive given",
          hint: "give --input FILE or pipe the archive to standard input")
      }
      records = try store.withStagingPath("stdin") { path in
        try ContentStore.copyToFile(from: 0, path)
        return try store.load(from: path)
      }
    }
    if let engine = try? global.engine() {
      for record in records {
        engine.recordImageEvent("load", id: record.id.description, name: record.names.first ?? "")
      }
    }
    guard !quiet else { return }
    for record in records {
      print("Loaded image: \(record.names.first ?? record.id.encoded)")
    }
  }
}
