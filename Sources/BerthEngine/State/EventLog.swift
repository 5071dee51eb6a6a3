// Events (`berth events`): rows appended in the same transaction as the
// change they describe, so the log and the state never disagree.
import BerthSystem
import FoundationEssentials
import GRDB
import Glibc

public struct EngineEvent: Codable, Sendable, FetchableRecord {
  public var seq: Int64
  /// Unix time in nanoseconds.
  public var time: Int64
  public var type: String
  public var action: String
  public var id: String
  public var name: String
  public var attributes: Data

  public var attributeMap: [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: attributes)) ?? [:]
  }
}

enum EventLog {
  static func record(
    _ db: Database, type: String, action: String, id: String, name: String,
    attributes: [String: String]
  ) throws {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    let encoded = try JSONEncoder().encode(attributes)
    try db.execute(
      sql: "INSERT INTO event (time, type, action, id, name, attributes) VALUES (?, ?, ?, ?, ?, ?)",
      arguments: [
        Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec), type, action, id, name, encoded,
      ])
    // The log keeps the last 10,000 events.
    try db.execute(sql: "DELETE FROM event WHERE seq <= (SELECT MAX(seq) FROM event) - 10000")
  }
}

extension Engine {
  /// Events after `afterSeq` (and at or after `since`, in Unix nanoseconds).
  public func events(afterSeq: Int64, since: Int64?) throws(BerthError) -> [EngineEvent] {
    try database.read { db in
      try EngineEvent.fetchAll(
        db, sql: "SELECT * FROM event WHERE seq > ? AND time >= ? ORDER BY seq",
        arguments: [afterSeq, since ?? 0])
    }
  }

  /// The newest event's sequence number (0 for none): where a stream of
  /// what happens from now on starts.
  public func lastEventSeq() throws(BerthError) -> Int64 {
    try database.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM event") ?? 0 }
  }
}
