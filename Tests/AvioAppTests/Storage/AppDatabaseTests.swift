import Foundation
import GRDB
import Testing

@testable import AvioApp

@Suite("SQLite storage, migrations, CLI commands (CONTRACT §7)")
struct AppDatabaseTests {
    @Test("migrations are recorded once and re-running them changes nothing")
    func migrationIdempotence() throws {
        let path = temporaryDatabasePath()
        let database = try AppDatabase(path: path)
        #expect(try database.migrate().isEmpty)
        let reopened = try AppDatabase(path: path)
        #expect(try reopened.migrate().isEmpty)
        let versions = try reopened.writer.read { db in try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version") }
        #expect(versions == Array(1...Migrations.all.count))
    }

    @Test("every table of the contract exists, in WAL mode with foreign keys on")
    func schema() throws {
        let database = try AppDatabase(path: temporaryDatabasePath())
        let tables = try database.writer.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        }
        for table in ["provider_tokens", "contacts", "leads", "messages", "webhook_events", "inbox", "outbox", "schema_migrations"] {
            #expect(tables.contains(table))
        }
        let (mode, foreignKeys, synchronous) = try database.writer.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"),
             try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(mode == "wal")
        #expect(foreignKeys == 1)
        #expect(synchronous == 2)  // FULL
    }

    @Test("avio migrate prints leads and messages structure and the contacts columns")
    func migrateOutput() throws {
        let output = try Commands.migrate(databasePath: temporaryDatabasePath())
        #expect(output.contains("table leads:"))
        #expect(output.contains("table messages:"))
        #expect(output.contains("provider_message_id"))
        #expect(output.contains("contacts columns: id, tenant, channel, external_id, phone, username, name, created_at, updated_at"))
        #expect(output.contains("migrations applied: 1_provider_tokens"))
    }

    @Test("a backup taken while the database is open opens and holds the tokens")
    func backup() async throws {
        let path = temporaryDatabasePath()
        let database = try AppDatabase(path: path)
        let token = try await database.ensureProviderToken(tenant: 4, now: Date()).0.token
        let copy = path + ".backup"
        try Commands.backup(databasePath: path, to: copy)
        let restored = try AppDatabase(path: copy)
        #expect(try await restored.providerToken(tenant: 4)?.token == token)
        #expect(throws: AppDatabase.BackupError.self) { try Commands.backup(databasePath: path, to: copy) }
    }

    @Test("diag reports configuration and database problems")
    func diag() {
        let good = Commands.diag(env: ["DATABASE_URL": temporaryDatabasePath(), "ADMIN_TOKEN": "a", "PUBLIC_KEY": "p"])
        #expect(good.ok)
        #expect(good.report.contains("integrity ok, journal wal"))
        let bad = Commands.diag(env: ["ADMIN_TOKEN": "same", "PUBLIC_KEY": "same"])
        #expect(!bad.ok)
        #expect(bad.report.contains("✗ configuration: PUBLIC_KEY must differ from ADMIN_TOKEN"))
    }

    @Test("a message row cannot point at a missing lead")
    func foreignKeys() async throws {
        let database = try AppDatabase(path: ":memory:")
        await #expect(throws: DatabaseError.self) {
            try await database.writer.write { db in
                try db.execute(sql: """
                    INSERT INTO messages(tenant, lead_id, contact_id, channel, direction, status, ts, created_at)
                    VALUES (1, 999, 999, 'whatsapp', 'in', 'received', 'x', 'x')
                    """)
            }
        }
    }

    @Test("group commit: events submitted together are each reported, duplicates inside one batch included")
    func groupCommit() async throws {
        let database = try AppDatabase(path: temporaryDatabasePath())
        let ingestor = WebhookIngestor(database: database, clock: SystemClock(), maximumBatch: 7)
        let outcomes = try await withThrowingTaskGroup(of: IngestOutcome.self) { group in
            for index in 0..<100 {
                group.addTask {
                    try await ingestor.ingest(InboundEnvelope(tenant: 1, channel: "whatsapp", event: "messages.incoming",
                                                              messageID: "m\(index % 50)", payload: "{}"))
                }
            }
            return try await group.reduce(into: [IngestOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .duplicate }.count == 50)
        let rows = try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbox") }
        #expect(rows == 50)
    }
}

@Suite("Startup recovery")
struct StartupRecoveryTests {
    @Test("leases left by a dead process are released at startup, finished jobs untouched")
    func releaseLeases() async throws {
        let database = try AppDatabase(path: temporaryDatabasePath())
        let now = Date()
        _ = try database.ingest([InboundEnvelope(tenant: 1, channel: "whatsapp", event: "ready", messageID: nil, payload: "{}"),
                                       InboundEnvelope(tenant: 2, channel: "whatsapp", event: "ready", messageID: nil, payload: "{}")], now: now)
        // An inbox lease as written by versions before migration 6, one on a pending job and one on a finished job.
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE inbox SET lease_until = ?", arguments: [now.timeIntervalSince1970 + 600])
            try db.execute(sql: "UPDATE inbox SET status = 'done' WHERE tenant = 2")
        }
        let message = try TransportMessage.parse(json(#"{"tenant":1,"channel":"telegram","to":"me","text":"x"}"#))
        _ = try await database.enqueueOutbox(message, idempotencyKey: nil, now: now, leaseSeconds: 600)
        let released = try database.releaseStaleLeases()
        #expect(released.inbox == 1 && released.outbox == 1)
        let leased = try await database.writer.read { db in
            try Int64.fetchAll(db, sql: "SELECT tenant FROM inbox WHERE lease_until IS NOT NULL")
        }
        #expect(leased == [2])
        #expect(try await database.claimOutboxJobs(limit: 10, now: now, leaseSeconds: 60).count == 1)
    }
}

@Suite("One server per database file")
struct ServeLockTests {
    @Test("a second avio serve on the same file is refused with a clear error; the lock goes with its holder")
    func exclusive() throws {
        let path = temporaryDatabasePath()
        var first = try ServeLock.acquire(databasePath: path)
        #expect(first?.path == path + ".serve-lock")
        #expect(throws: ServeLockError.self) { try ServeLock.acquire(databasePath: path) }
        do {
            _ = try ServeLock.acquire(databasePath: path)
        } catch {
            #expect(error.description.contains("another avio serve is already using \(path)"))
        }
        #expect(try ServeLock.acquire(databasePath: temporaryDatabasePath()) != nil)  // other files are independent
        first = nil
        #expect(try ServeLock.acquire(databasePath: path) != nil)
        #expect(try ServeLock.acquire(databasePath: ":memory:") == nil)
    }
}
