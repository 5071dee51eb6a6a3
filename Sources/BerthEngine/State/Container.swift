// A container's row in the state database.
import BerthSystem
import FoundationEssentials
import GRDB
import Synchronization

public struct Container: Codable, Sendable, FetchableRecord {

  public enum State: String, Codable, Sendable {
    /// Recorded, rootfs prepared, never started (or reset after an exit).
    case created
    case running
    case paused
    case exited
  }

  public var id: String
  public var name: String
  public var imageID: String
  public var imageName: String
  public var created: String
  public var state: State
  public var config: Data
  public var pid: Int32 = 0
  public var exitCode: Int32?
  public var startedAt: String?
  public var finishedAt: String?
  public var restartCount = 0
  public var health: String?
  /// Why the container stopped when not by its own exit (its monitor died).
  public var reason: String?

  public var shortID: String { String(id.prefix(12)) }

  /// Read column by column: GRDB's Codable path costs several times more
  /// per row, and `ps` reads every row.
  public init(row: Row) throws {
    id = row["id"]
    name = row["name"]
    imageID = row["imageID"]
    imageName = row["imageName"]
    created = row["created"]
    state = State(rawValue: row["state"] as String) ?? .exited
    config = row["config"]
    pid = row["pid"]
    exitCode = row["exitCode"]
    startedAt = row["startedAt"]
    finishedAt = row["finishedAt"]
    restartCount = row["restartCount"]
    health = row["health"]
    reason = row["reason"]
  }

  // The engine's queries on this table, in SQL. GRDB's query builder and
  // record persistence first read the table's schema (its columns, primary
  // key and indexes: several PRAGMA statements, each through GRDB's
  // authorizer) in every process; a `run` used nothing else of it.

  static let columns =
    "id, name, imageID, imageName, created, state, config, pid, exitCode, startedAt, "
    + "finishedAt, restartCount, health, reason"

  static func row(_ db: Database, id: String) throws -> Container? {
    try fetchOne(db, sql: "SELECT * FROM container WHERE id = ?", arguments: [id])
  }

  static func row(_ db: Database, name: String) throws -> Container? {
    try fetchOne(db, sql: "SELECT * FROM container WHERE name = ?", arguments: [name])
  }

  static func nameTaken(_ db: Database, _ name: String) throws -> Bool {
    try Bool.fetchOne(
      db, sql: "SELECT EXISTS (SELECT 1 FROM container WHERE name = ?)", arguments: [name])
      ?? false
  }

  /// Up to `limit` rows whose id starts with `prefix` (hex digits).
  static func rows(_ db: Database, idPrefix prefix: String, limit: Int) throws -> [Container] {
    try fetchAll(
      db, sql: "SELECT * FROM container WHERE id LIKE ? LIMIT ?", arguments: [prefix + "%", limit])
  }

  /// Every row, newest first.
  static func all(_ db: Database) throws -> [Container] {
    try fetchAll(db, sql: "SELECT * FROM container ORDER BY created DESC")
  }

  func insertRow(_ db: Database) throws {
    try db.execute(
      sql:
        "INSERT INTO container (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      arguments: arguments)
  }

  func updateRow(_ db: Database) throws {
    try db.execute(
      sql: """
        UPDATE container SET id = ?, name = ?, imageID = ?, imageName = ?, created = ?, state = ?,
        config = ?, pid = ?, exitCode = ?, startedAt = ?, finishedAt = ?, restartCount = ?,
        health = ?, reason = ? WHERE id = ?
        """,
      arguments: arguments + [id])
  }

  static func deleteRow(_ db: Database, id: String) throws {
    try db.execute(sql: "DELETE FROM container WHERE id = ?", arguments: [id])
  }

  /// The row's values in `columns` order.
  var arguments: StatementArguments {
    [
      id, name, imageID, imageName, created, state.rawValue, config, pid, exitCode, startedAt,
      finishedAt, restartCount, health, reason,
    ]
  }

  public init(
    id: String, name: String, imageID: String, imageName: String, created: String, state: State,
    config: Data
  ) {
    self.id = id
    self.name = name
    self.imageID = imageID
    self.imageName = imageName
    self.created = created
    self.state = state
    self.config = config
  }

  public func decodedConfig() throws(BerthError) -> ContainerConfig {
    if let known = Self.recentConfigs.withLock({ $0.last { $0.bytes == config } }) {
      return known.config
    }
    do {
      let decoded = try JSONDecoder().decode(ContainerConfig.self, from: config)
      Self.remember(config, decoded)
      return decoded
    } catch {
      throw BerthError(.invalidState, "container \(shortID) has an unreadable config: \(error)")
    }
  }

  /// The parts of the config a list shows, decoded alone (`ps` decodes one
  /// per row: the whole config was a fifth of a `ps -a` of 100).
  public func listing() throws(BerthError) -> ContainerListing {
    do {
      return try JSONDecoder().decode(ContainerListing.self, from: config)
    } catch {
      throw BerthError(.invalidState, "container \(shortID) has an unreadable config: \(error)")
    }
  }

  public static func encode(_ config: ContainerConfig) throws(BerthError) -> Data {
    do {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      let bytes = try encoder.encode(config)
      remember(bytes, config)
      return bytes
    } catch {
      throw BerthError(.internalError, "cannot encode a container config: \(error)")
    }
  }

  /// The configs this process last encoded or decoded, by their bytes: a
  /// `run` reads back the config it has just encoded three times, and each
  /// decode cost more than the SQL around it. A decode is a function of the
  /// bytes, so a hit is exact; a few entries keep a long-lived service small.
  private static let recentConfigs = Mutex<[(bytes: Data, config: ContainerConfig)]>([])

  private static func remember(_ bytes: Data, _ config: ContainerConfig) {
    recentConfigs.withLock {
      $0.removeAll { $0.bytes == bytes }
      $0.append((bytes, config))
      if $0.count > 4 { $0.removeFirst() }
    }
  }
}

/// A volume's row.
public struct Volume: Codable, Sendable, FetchableRecord, PersistableRecord {
  public static let databaseTableName = "volume"
  public var name: String
  public var driver: String
  public var mountpoint: String
  public var created: String
  public var labels: Data
  public var options: Data
  public var anonymous = false

  public var labelMap: [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: labels)) ?? [:]
  }
  public var optionMap: [String: String] {
    (try? JSONDecoder().decode([String: String].self, from: options)) ?? [:]
  }
}

/// What a list of containers shows of each config (`ps`, the API's
/// container list), under ContainerConfig's own keys.
public struct ContainerListing: Decodable, Sendable {
  public var labels: [String: String]
  public var mounts: [MountRequest]
  public var autoRemove: Bool
  public var entrypoint: [String]?
  public var command: [String]?
  public var network: String

  public var mountDestinations: [String] { mounts.map(\.destination) }

  enum CodingKeys: String, CodingKey {
    case labels, mounts, autoRemove, entrypoint, command, network
  }

  public init(from decoder: any Decoder) throws {
    let values = try decoder.container(keyedBy: CodingKeys.self)
    labels = try values.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    mounts = try values.decodeIfPresent([MountRequest].self, forKey: .mounts) ?? []
    autoRemove = try values.decodeIfPresent(Bool.self, forKey: .autoRemove) ?? false
    entrypoint = try values.decodeIfPresent([String].self, forKey: .entrypoint)
    command = try values.decodeIfPresent([String].self, forKey: .command)
    network = try values.decodeIfPresent(String.self, forKey: .network) ?? "none"
  }
}
