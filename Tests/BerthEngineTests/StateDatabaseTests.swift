import Foundation
import Testing

@testable import BerthEngine

@Suite("State database")
struct StateDatabaseTests {
  /// The database is made by the first command that needs it: several at
  /// once (a service's first request next to a CLI) must agree on one
  /// schema. They once both ran the migrations, or deadlocked switching the
  /// journal mode.
  @Test func manyFirstOpensOfAFreshDatabaseAllSucceed() throws {
    let dir = NSTemporaryDirectory() + "berth-db-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/berth.db"
    let failures = Failures()
    DispatchQueue.concurrentPerform(iterations: 8) { _ in
      do {
        _ = try StateDatabase(path: path)
      } catch {
        failures.add("\(error)")
      }
    }
    #expect(failures.all.isEmpty, "\(failures.all)")
  }

  final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
  }
}
