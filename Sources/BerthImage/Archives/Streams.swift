// Archives through standard input and output (`berth save > x.tar`,
// `berth load < x.tar`), staged in the store's ingest directory because the
// archive formats need random access or a known size.
import BerthSystem
import Glibc
import SystemPackage

extension ContentStore {
  /// A fresh path under ingest/ for `body`, removed afterwards.
  public func withStagingPath<T>(_ name: String, _ body: (String) throws -> T) throws -> T {
    let path = "\(root)/ingest/\(name)-\(Sys.randomHex(8))"
    defer { try? Sys.removeTree(path) }
    return try body(path)
  }

  /// Copies everything from `input` to `output` (file descriptors).
  public static func copyStream(from input: Int32, to output: Int32, what: String) throws {
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = try buffer.withUnsafeMutableBytes { raw in
        try Sys.check("read \(what)") { read(input, raw.baseAddress, raw.count) }
      }
      if n == 0 { return }
      try buffer.withUnsafeBytes {
        try Sys.writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<n]), what: "write \(what)")
      }
    }
  }

  /// Copies a file to a descriptor, e.g. standard output.
  public static func copyFile(_ path: String, to output: Int32) throws {
    let input = try Sys.open(path, O_RDONLY)
    defer { Sys.close(input) }
    try copyStream(from: input, to: output, what: path)
  }

  /// Copies a descriptor, e.g. standard input, to a new file.
  public static func copyToFile(from input: Int32, _ path: String) throws {
    let output = try Sys.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    defer { Sys.close(output) }
    try copyStream(from: input, to: output, what: path)
  }
}
