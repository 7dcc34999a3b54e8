import GRDB

/// Append-only, numbered schema migrations recorded in `schema_migrations` (CONTRACT §7).
/// Never edit a shipped migration: add the next number.
enum Migrations {
    struct Migration {
        let version: Int
        let name: String
        let sql: String
    }

    static let all: [Migration] = [
        Migration(version: 1, name: "provider_tokens", sql: """
            CREATE TABLE provider_tokens (
                tenant INTEGER PRIMARY KEY,
                token TEXT UNIQUE NOT NULL,
                created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
            );
            """),
        Migration(version: 2, name: "contacts_leads_messages", sql: """
            CREATE TABLE contacts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant INTEGER NOT NULL,
                channel TEXT NOT NULL CHECK (channel IN ('telegram', 'whatsapp')),
                external_id TEXT NOT NULL,
                phone TEXT,
                username TEXT,
                name TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (tenant, channel, external_id)
            );
            CREATE TABLE leads (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant INTEGER NOT NULL,
                contact_id INTEGER NOT NULL REFERENCES contacts(id),
                channel TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                last_message_at TEXT
            );
            CREATE UNIQUE INDEX leads_one_open_per_contact ON leads(contact_id) WHERE status = 'open';
            CREATE INDEX leads_by_tenant ON leads(tenant, id);
            CREATE TABLE messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant INTEGER NOT NULL,
                lead_id INTEGER NOT NULL REFERENCES leads(id),
                contact_id INTEGER NOT NULL REFERENCES contacts(id),
                channel TEXT NOT NULL,
                direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
                text TEXT,
                media TEXT,
                provider_message_id TEXT,
                status TEXT NOT NULL CHECK (status IN ('received', 'sent', 'failed', 'skipped')),
                error TEXT,
                ts TEXT NOT NULL,
                created_at TEXT NOT NULL
            );
            CREATE UNIQUE INDEX messages_provider_id
                ON messages(tenant, channel, direction, provider_message_id) WHERE provider_message_id IS NOT NULL;
            CREATE INDEX messages_by_lead ON messages(lead_id, id);
            """),
        Migration(version: 3, name: "webhook_events_inbox", sql: """
            CREATE TABLE webhook_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant INTEGER NOT NULL,
                channel TEXT NOT NULL,
                event TEXT NOT NULL,
                message_id TEXT,
                payload TEXT NOT NULL,
                received_at TEXT NOT NULL
            );
            CREATE UNIQUE INDEX webhook_events_dedup ON webhook_events(tenant, channel, message_id)
                WHERE message_id IS NOT NULL;
            CREATE INDEX webhook_events_by_tenant ON webhook_events(tenant, id);
            CREATE TABLE inbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id INTEGER NOT NULL UNIQUE REFERENCES webhook_events(id),
                tenant INTEGER NOT NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'parked')),
                attempts INTEGER NOT NULL DEFAULT 0,
                available_at REAL NOT NULL,
                lease_until REAL,
                last_error TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE INDEX inbox_ready ON inbox(status, available_at, id);
            CREATE INDEX inbox_by_tenant ON inbox(tenant, status, id);
            CREATE TABLE wa_sessions (
                tenant INTEGER PRIMARY KEY,
                state TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            """),
        Migration(version: 4, name: "outbox", sql: """
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant INTEGER NOT NULL,
                channel TEXT NOT NULL,
                recipient TEXT NOT NULL,
                payload TEXT NOT NULL,
                idempotency_key TEXT,
                status TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
                reason TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                available_at REAL NOT NULL,
                lease_until REAL,
                last_error TEXT,
                http_status INTEGER,
                result TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            );
            CREATE UNIQUE INDEX outbox_idempotency ON outbox(tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
            CREATE INDEX outbox_ready ON outbox(status, available_at, id);
            CREATE INDEX outbox_by_tenant ON outbox(tenant, status, id);
            """),
        Migration(version: 5, name: "inbox_claim_indexes", sql: """
            CREATE INDEX inbox_pending_by_id ON inbox(id) WHERE status = 'pending';
            CREATE INDEX inbox_pending_backoff ON inbox(tenant, available_at) WHERE status = 'pending';
            CREATE INDEX inbox_pending_leased ON inbox(tenant, lease_until) WHERE status = 'pending' AND lease_until IS NOT NULL;
            """),
        // The inbox worker now reads, processes and completes a batch in one transaction, so it no longer leases jobs.
        Migration(version: 6, name: "inbox_without_leases", sql: """
            DROP INDEX inbox_pending_leased;
            """),
    ]

    /// Applies each migration not yet in `schema_migrations`, in order, inside the caller's transaction.
    static func apply(_ db: Database) throws -> [String] {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
            )
            """)
        let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations"))
        var names: [String] = []
        for migration in all where !applied.contains(migration.version) {
            try db.execute(sql: migration.sql)
            try db.execute(sql: "INSERT INTO schema_migrations(version, name) VALUES (?, ?)",
                           arguments: [migration.version, migration.name])
            names.append("\(migration.version)_\(migration.name)")
        }
        return names
    }

    /// Human-readable structure of a table (`avio migrate` output).
    static func describe(_ db: Database, table: String) throws -> [(name: String, type: String, notNull: Bool, primaryKey: Bool)] {
        try Row.fetchAll(db, sql: "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", arguments: [table]).map {
            (name: $0["name"], type: $0["type"], notNull: ($0["notnull"] as Int) != 0, primaryKey: ($0["pk"] as Int) != 0)
        }
    }
}
