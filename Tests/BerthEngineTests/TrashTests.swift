import BerthMonitor
import Foundation
import Testing

@Suite("a --rm container's trash")
struct TrashTests {
  @Test func aSweepDeletesOnlyWhatDeadMonitorsLeft() throws {
    let directory = NSTemporaryDirectory() + "berth-trash-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // A pid that cannot be alive (above pid_max) and our own, which is.
    let dead = directory + "/4194305-0-abc"
    let live = directory + "/\(getpid())-0-def"
    for entry in [dead, live] {
      try FileManager.default.createDirectory(
        atPath: entry + "/upper/etc", withIntermediateDirectories: true)
      FileManager.default.createFile(atPath: entry + "/upper/etc/file", contents: Data("x".utf8))
    }
    Trash.sweep(directory)
    #expect(!FileManager.default.fileExists(atPath: dead), "a dead monitor's entry goes")
    #expect(FileManager.default.fileExists(atPath: live + "/upper/etc/file"), "a live one's stays")
  }
}
