import BerthTestSupport
import Foundation
import Testing

/// A temporary directory removed when the value goes away.
final class TempDir {
  let path: String

  init() throws {
    var template = Array("/tmp/berth-test-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    path = String(cString: made)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs a program and returns its standard output; throws on failure.
@discardableResult
func run(_ arguments: [String], stdin: String? = nil) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = arguments
  let output = Pipe()
  let errors = Pipe()
  process.standardOutput = output
  process.standardError = errors
  if let stdin {
    let input = Pipe()
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data(stdin.utf8))
    try input.fileHandleForWriting.close()
  } else {
    try process.run()
  }
  let out = output.fileHandleForReading.readDataToEndOfFile()
  let err = errors.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw TestFailure(
      "\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): "
        + String(decoding: err, as: UTF8.self))
  }
  return String(decoding: out, as: UTF8.self)
}

struct TestFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Builds a tar archive at `path` with Python's tarfile module (see
/// BerthTestSupport's `tarScript` for what `body` has in scope).
func makeTar(_ path: String, mode: String = "w", _ body: String) throws {
  try run(["python3", "-c", tarScript(mode: mode, mtime: 1_000_000, body: body), path])
}

let canRunAsRoot = geteuid() == 0
