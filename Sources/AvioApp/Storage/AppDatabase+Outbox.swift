import Foundation
import GRDB

/// A claimed outbox job.
public struct OutboxJob: Sendable {
    public var id: Int64
    public var tenant: Int64
    public var attempts: Int
    public var payload: String
}

/// Final or intermediate state written back to an outbox job.
public struct OutboxUpdate: Sendable {
    public var status: String
    public var reason: String?
    public var httpStatus: Int
    public var result: JSONValue
    public var error: String?
}

extension AppDatabase {
    /// Queues a send (CONTRACT §6.3). With an idempotency key already used by the tenant, returns the existing job id
    /// and `created: false`. `leaseSeconds` > 0 reserves the job for an inline (synchronous) delivery: the outbox worker
    /// takes it over only if that delivery never reports back (crash).
    public func enqueueOutbox(_ message: TransportMessage, idempotencyKey: String?, now: Date,
                              leaseSeconds: Double = 0) async throws -> (id: Int64, created: Bool) {
        let stamp = Timestamp.iso(now), epoch = now.timeIntervalSince1970
        return try await writer.write { db in
            if let key = idempotencyKey,
               let id = try db.cachedValue(Int64.self, sql: "SELECT id FROM outbox WHERE tenant = ? AND idempotency_key = ?",
                                           arguments: [message.tenant, key]) {
                return (id, false)
            }
            try db.cachedExecute(sql: """
                INSERT INTO outbox(tenant, channel, recipient, payload, idempotency_key, status, available_at, lease_until,
                                   created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)
                """, arguments: [message.tenant, message.channel.rawValue, message.to, message.json.jsonString, idempotencyKey,
                                 epoch, leaseSeconds > 0 ? epoch + leaseSeconds : nil, stamp, stamp])
            return (db.lastInsertedRowID, true)
        }
    }

    /// Claims due queued jobs with a lease; attempts are counted at claim time.
    public func claimOutboxJobs(limit: Int, now: Date, leaseSeconds: Double) async throws -> [OutboxJob] {
        let epoch = now.timeIntervalSince1970
        return try await writer.write { db in
            let jobs = try db.cachedRows(sql: """
                SELECT id, tenant, attempts, payload FROM outbox
                WHERE status = 'queued' AND available_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
                ORDER BY id LIMIT ?2
                """, arguments: [epoch, limit]).map {
                OutboxJob(id: $0["id"], tenant: $0["tenant"], attempts: ($0["attempts"] as Int) + 1, payload: $0["payload"])
            }
            for job in jobs {
                try db.cachedExecute(sql: "UPDATE outbox SET lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?",
                               arguments: [epoch + leaseSeconds, Timestamp.iso(now), job.id])
            }
            return jobs
        }
    }

    /// Writes a final state (`sent`, `failed`, `skipped`).
    public func finishOutboxJob(id: Int64, _ update: OutboxUpdate, now: Date) async throws {
        try await writer.write { db in
            try db.cachedExecute(sql: """
                UPDATE outbox SET status = ?, reason = ?, http_status = ?, result = ?, last_error = ?, lease_until = NULL,
                                  updated_at = ? WHERE id = ?
                """, arguments: [update.status, update.reason, update.httpStatus, update.result.jsonString, update.error,
                                 Timestamp.iso(now), id])
        }
    }

    /// Puts a job back for a later attempt.
    public func retryOutboxJob(id: Int64, error: String, availableAt: Date, now: Date) async throws {
        try await writer.write { db in
            try db.cachedExecute(sql: """
                UPDATE outbox SET lease_until = NULL, available_at = ?, last_error = ?, updated_at = ? WHERE id = ?
                """, arguments: [availableAt.timeIntervalSince1970, error, Timestamp.iso(now), id])
        }
    }

    /// One job as operators see it; `nil` when unknown.
    public func outboxJob(id: Int64) async throws -> JSONValue? {
        try await writer.read { db in
            try db.cachedRow(sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]).map(Self.outboxJSON(row:))
        }
    }

    /// Jobs newest first, filtered by tenant and status.
    public func outboxJobs(tenant: Int64?, status: String?, limit: Int, before: Int64?) async throws -> [JSONValue] {
        try await writer.read { db in
            try db.cachedRows(sql: """
                SELECT * FROM outbox WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR id < ?3)
                ORDER BY id DESC LIMIT ?4
                """, arguments: [tenant, status, before, limit]).map(Self.outboxJSON(row:))
        }
    }

    private static func outboxJSON(row: Row) -> JSONValue {
        let payload = JSONValue.parse(Array((row["payload"] as String).utf8)) ?? .null
        let result = (row["result"] as String?).flatMap { JSONValue.parse(Array($0.utf8)) } ?? .null
        return [
            "ok": true, "id": .int(row["id"]), "tenant": .int(row["tenant"]), "channel": .string(row["channel"]),
            "to": .string(row["recipient"]), "status": .string(row["status"]), "reason": .string(row["reason"] as String?),
            "attempts": .int(row["attempts"]), "last_error": .string(row["last_error"] as String?),
            "http_status": .int((row["http_status"] as Int64?)), "result": result, "payload": payload,
            "idempotency_key": .string(row["idempotency_key"] as String?),
            "created_at": .string(row["created_at"]), "updated_at": .string(row["updated_at"]),
        ]
    }
}
