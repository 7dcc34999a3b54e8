import Foundation
import GRDB

/// An event to commit to `webhook_events` + `inbox` (CONTRACT §5.2).
public struct InboundEnvelope: Sendable {
    public var tenant: Int64
    public var channel: String
    public var event: String
    /// Dedup key; `nil` for events without one (`ready`).
    public var messageID: String?
    /// The body as received (valid JSON and UTF-8), re-parsed by the inbox worker.
    public var payload: String
}

/// Outcome of committing one event.
public enum IngestOutcome: Sendable, Equatable {
    case queued(eventID: Int64)
    case duplicate
}

extension AppDatabase {
    /// Commits a batch of events in ONE transaction: each new event gets a `webhook_events` row and an `inbox` job;
    /// a repeated `(tenant, channel, message_id)` is reported as duplicate and not queued again.
    /// Blocks the calling thread until committed: `WebhookIngestor` calls it from its own writer thread.
    public func ingest(_ envelopes: [InboundEnvelope], now: Date) throws -> [IngestOutcome] {
        try writer.write { db in try Self.insertEvents(envelopes, now: now, db: db) }
    }

    private static func insertEvents(_ envelopes: [InboundEnvelope], now: Date, db: Database) throws -> [IngestOutcome] {
        let received = Timestamp.iso(now), epoch = now.timeIntervalSince1970
        var outcomes: [IngestOutcome] = []
        outcomes.reserveCapacity(envelopes.count)
        let insertEvent = try db.cachedStatement(sql: """
            INSERT INTO webhook_events(tenant, channel, event, message_id, payload, received_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """)
        let insertJob = try db.cachedStatement(sql: """
            INSERT INTO inbox(event_id, tenant, kind, available_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            """)
        for envelope in envelopes {
            try insertEvent.execute(arguments: [envelope.tenant, envelope.channel, envelope.event, envelope.messageID,
                                                envelope.payload, received])
            guard db.changesCount > 0 else {
                outcomes.append(.duplicate)
                continue
            }
            let eventID = db.lastInsertedRowID
            try insertJob.execute(arguments: [eventID, envelope.tenant, envelope.event, epoch, received, received])
            outcomes.append(.queued(eventID: eventID))
        }
        return outcomes
    }

    /// Newest events first, for operators (`GET /admin/webhook-events`).
    public func webhookEvents(tenant: Int64?, limit: Int, before: Int64?) async throws -> [JSONValue] {
        try await writer.read { db in
            try db.cachedRows(sql: """
                SELECT e.id, e.tenant, e.channel, e.event, e.message_id, e.payload, e.received_at, i.status AS job_status
                FROM webhook_events e LEFT JOIN inbox i ON i.event_id = e.id
                WHERE (?1 IS NULL OR e.tenant = ?1) AND (?2 IS NULL OR e.id < ?2)
                ORDER BY e.id DESC LIMIT ?3
                """, arguments: [tenant, before, limit]).map { row in
                [
                    "id": .int(row["id"]), "tenant": .int(row["tenant"]), "channel": .string(row["channel"]),
                    "event": .string(row["event"]), "message_id": .string(row["message_id"] as String?),
                    "received_at": .string(row["received_at"]), "inbox_status": .string(row["job_status"] as String?),
                    "payload": JSONValue.parse(Array((row["payload"] as String).utf8)) ?? .null,
                ]
            }
        }
    }
}
