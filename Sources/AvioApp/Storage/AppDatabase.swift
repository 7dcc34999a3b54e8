import Foundation
import GRDB
import Synchronization

/// The one door to SQLite (STYLE §8). Every read and write of the product goes through this type and its
/// `AppDatabase+Topic.swift` extensions.
///
/// Durability choices (CONTRACT §5.2, "a 2xx means committed"):
/// - WAL journal (`DatabasePool`): readers never block the writer, and a reader sees only committed data.
/// - `synchronous=FULL`: the WAL is fsynced at every commit, so an acknowledged event survives power loss, not only
///   a process crash (`NORMAL` would keep it across `kill -9` but may roll back the last commits on power loss).
///   The cost of one fsync per commit is shared by batching concurrent webhook writes into one transaction.
/// - `busy_timeout` 5 s: a second process (`avio backup`, `avio migrate`) waits instead of failing with
///   `database is locked`; inside one process GRDB serializes writers anyway.
/// - `foreign_keys=ON`: messages cannot point at missing leads.
public final class AppDatabase: Sendable {
    /// GRDB's writer: a `DatabasePool` for files, a `DatabaseQueue` for `:memory:`.
    public let writer: any DatabaseWriter
    public let path: String
    /// Provider tokens by tenant, read on every webhook. Filled on read, replaced on ensure/rotate; valid because one
    /// `avio serve` owns its database file and every token change goes through this type.
    let tokenCache = Mutex<[Int64: ProviderToken]>([:])

    /// Opens (creating parent folders) and migrates the database at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        configuration.label = "avio"
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.path = path
        if path == ":memory:" {
            writer = try DatabaseQueue(configuration: configuration)
        } else {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            if !folder.isEmpty { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
            writer = try DatabasePool(path: path, configuration: configuration)
        }
        try migrate()
    }

    /// Applies pending migrations; returns the names applied now (empty when up to date).
    @discardableResult
    public func migrate() throws -> [String] {
        try writer.write { db in try Migrations.apply(db) }
    }

    /// Cheap liveness probe for `/health`: a read and the schema version.
    public func check() async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(version), 0) FROM schema_migrations") ?? 0
        }
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy), for `avio diag`.
    public func integrityCheck() throws -> String {
        try writer.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "unknown" }
    }

    /// Writes a consistent copy of the live database to `destination` (`VACUUM INTO`), safe while the server runs.
    public func backup(to destination: String) throws {
        if FileManager.default.fileExists(atPath: destination) {
            throw BackupError.destinationExists(destination)
        }
        try writer.writeWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [destination])
        }
    }

    public enum BackupError: Error, CustomStringConvertible {
        case destinationExists(String)
        public var description: String {
            switch self {
            case .destinationExists(let path): "\(path) already exists; choose a new file name"
            }
        }
    }
}
