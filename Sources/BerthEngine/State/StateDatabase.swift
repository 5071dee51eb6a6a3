// The engine's one database: containers, volumes and networks in
// SQLite through GRDB, in WAL mode so readers never wait for a writer.
// Concurrent `berth` processes wait on SQLite's busy handler (bounded)
// instead of failing on a lock; a timeout is a clear error.
import BerthSystem
import GRDB
import GRDBSQLite
import Glibc

public final class StateDatabase: @unchecked Sendable {
  let queue: DatabaseQueue
  public let path: String

  /// SQLite's own busy timeout sleeps 1, 2, 5, 10, 15, 20... ms between
  /// tries, while berth's transactions hold the lock for well under a
  /// millisecond: with 16 runs at once, a run waited 37 ms on average to
  /// record its container. Tries here come 50 µs apart at first, doubling
  /// to 1 ms; after about 30 s the command gives up with a clear error.
  static let waitForLock: Database.BusyCallback = { tries in
    let sleep = min(50 << min(tries, 5), 1000)
    usleep(UInt32(sleep))
    return tries < 30_000
  }

  public init(path: String) throws(BerthError) {
    self.path = path
    var configuration = Configuration()
    configuration.busyMode = .callback(Self.waitForLock)
    // The schema has no foreign keys: one statement less at every open.
    configuration.foreignKeysEnabled = false
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = NORMAL")
      // Each command is a short-lived connection: without this, the last
      // one to close deletes the -wal file and the next creates it again
      // (ext4 inode allocation on every `ps`).
      var persist: Int32 = 1
      _ = sqlite3_file_control(db.sqliteConnection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
      // A command is usually the only connection, so it rebuilds the WAL
      // index by reading every frame in the -wal file (SQLite's recovery).
      // At the default of 1000 pages that is up to 4 MB read on every
      // command (measured: 2.8 ms of `ps` at 600 frames); a run writes
      // about 20 frames, so checkpointing at 64 keeps recovery short at
      // the price of a checkpoint every few runs.
      try db.execute(sql: "PRAGMA wal_autocheckpoint = 64")
    }
    do {
      queue = try DatabaseQueue(path: path, configuration: configuration)
      // A database at the current schema needs no migrator (about a
      // millisecond of GRDB's first use on every command): user_version
      // is set with the last migration.
      if try Self.userVersion(queue) < Self.schemaVersion {
        // One process sets the schema up: two first commands at once (a
        // service's first request and a CLI) otherwise both ran the
        // migrations ("table container already exists"), or deadlocked on
        // the journal mode switch until the busy timeout.
        let lock = try ObjectLock(path + ".lock", what: "the state database's schema")
        defer { withExtendedLifetime(lock) {} }
        if try Self.userVersion(queue) >= Self.schemaVersion { return }
        // WAL is a property of the file: set once, with the schema.
        let mode = try queue.writeWithoutTransaction { db in
          try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
        }
        if mode != "wal" {
          throw BerthError(.system, "cannot put the state database \(path) in WAL mode")
        }
        try Self.migrator.migrate(queue)
        try queue.writeWithoutTransaction { db in
          try db.execute(sql: "PRAGMA user_version = \(Self.schemaVersion)")
        }
      }
    } catch let error as BerthError {
      throw error
    } catch {
      throw Self.wrap(error, path: path)
    }
  }

  static let schemaVersion = 3

  /// The schema version the last migration left (0 for a new file).
  static func userVersion(_ queue: DatabaseQueue) throws -> Int {
    try queue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
  }

  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(
        sql: """
          CREATE TABLE container (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL UNIQUE,
            imageID TEXT NOT NULL,
            imageName TEXT NOT NULL,
            created TEXT NOT NULL,
            state TEXT NOT NULL,
            config BLOB NOT NULL,
            pid INTEGER NOT NULL DEFAULT 0,
            exitCode INTEGER,
            startedAt TEXT,
            finishedAt TEXT,
            restartCount INTEGER NOT NULL DEFAULT 0,
            health TEXT,
            reason TEXT
          );
          CREATE TABLE volume (
            name TEXT PRIMARY KEY NOT NULL,
            driver TEXT NOT NULL,
            mountpoint TEXT NOT NULL,
            created TEXT NOT NULL,
            labels BLOB NOT NULL,
            options BLOB NOT NULL,
            anonymous INTEGER NOT NULL DEFAULT 0
          );
          CREATE TABLE event (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            time INTEGER NOT NULL,
            type TEXT NOT NULL,
            action TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            attributes BLOB NOT NULL
          );
          """)
    }
    // Networks, the address leases of each container on each (the unique
    // pairs make a double assignment impossible, however many `berth`
    // processes allocate at once) and published host ports.
    migrator.registerMigration("v2") { db in
      try db.execute(
        sql: """
          CREATE TABLE network (
            name TEXT PRIMARY KEY NOT NULL,
            id TEXT NOT NULL UNIQUE,
            driver TEXT NOT NULL,
            interface TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            subnets BLOB NOT NULL,
            isInternal INTEGER NOT NULL DEFAULT 0,
            dns INTEGER NOT NULL DEFAULT 0,
            labels BLOB NOT NULL,
            options BLOB NOT NULL
          );
          CREATE TABLE attachment (
            container TEXT NOT NULL,
            network TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            mac TEXT NOT NULL,
            ipv4 TEXT,
            ipv6 TEXT,
            aliases BLOB NOT NULL,
            PRIMARY KEY (container, network),
            UNIQUE (network, ipv4),
            UNIQUE (network, ipv6)
          );
          CREATE TABLE published (
            container TEXT NOT NULL,
            protocol TEXT NOT NULL,
            hostIP TEXT NOT NULL,
            hostPort INTEGER NOT NULL,
            containerPort INTEGER NOT NULL,
            PRIMARY KEY (protocol, hostIP, hostPort)
          );
          """)
    }
    // The last address given out on each network and family: the next
    // lease starts after it (round-robin, as docker's IPAM), so an address a
    // removed container just gave back is not handed out again at once.
    migrator.registerMigration("v3") { db in
      try db.execute(
        sql: """
          CREATE TABLE lease_cursor (
            network TEXT NOT NULL,
            v6 INTEGER NOT NULL,
            address TEXT NOT NULL,
            PRIMARY KEY (network, v6)
          );
          """)
    }
    return migrator
  }

  /// Reads without GRDB's read-only transaction: that wraps each read in
  /// four statements more (query_only on and off, BEGIN and COMMIT), a
  /// tenth of a millisecond, and the engine's reads are single queries or
  /// lookups for which a snapshot across statements changes nothing.
  public func read<T>(_ body: (Database) throws -> T) throws(BerthError) -> T {
    do { return try queue.inDatabase(body) } catch { throw Self.wrap(error, path: path) }
  }

  public func write<T>(_ body: (Database) throws -> T) throws(BerthError) -> T {
    do { return try queue.write(body) } catch { throw Self.wrap(error, path: path) }
  }

  /// A write transaction that takes the write lock before it reads: a read
  /// then write in a deferred one fails at once (SQLITE_BUSY_SNAPSHOT) when
  /// another process committed in between; this one waits its turn.
  public func writeImmediately<T>(_ body: (Database) throws -> T) throws(BerthError) -> T {
    do {
      return try queue.writeWithoutTransaction { db in
        var result: T? = nil
        try db.inTransaction(.immediate) {
          result = try body(db)
          return .commit
        }
        return result!
      }
    } catch { throw Self.wrap(error, path: path) }
  }

  static func wrap(_ error: any Error, path: String) -> BerthError {
    if let error = error as? BerthError { return error }
    if let error = error as? DatabaseError {
      switch error.resultCode {
      case .SQLITE_BUSY, .SQLITE_LOCKED:
        // After the 30 s busy timeout, or at once when SQLite sees two
        // transactions that would wait on each other.
        return BerthError(
          .timeout, "the state database \(path) is locked by another berth command",
          hint: "try again; if it persists, look for a stuck berth process")
      case .SQLITE_CORRUPT, .SQLITE_NOTADB:
        return BerthError(
          .invalidState, "the state database \(path) is corrupt: \(error.message ?? "")",
          hint: "restore it from a backup or `berth system reset`")
      case .SQLITE_CONSTRAINT:
        return BerthError(.alreadyExists, error.message ?? "constraint failed")
      default:
        return BerthError(.system, "state database \(path): \(error.message ?? "\(error)")")
      }
    }
    return BerthError(.system, "state database \(path): \(error)")
  }
}
