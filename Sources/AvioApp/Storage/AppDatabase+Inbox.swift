import Foundation
import GRDB

/// A runnable inbox job with its event's payload; `attempts` counts this attempt.
public struct InboxJob: Sendable, Equatable {
    public var id: Int64
    public var eventID: Int64
    public var tenant: Int64
    public var kind: String
    public var attempts: Int
    public var payload: String
}

extension AppDatabase {
    /// Up to `limit` runnable jobs, oldest first (CONTRACT §5.5).
    public func runnableInboxJobs(limit: Int, now: Date) async throws -> [InboxJob] {
        try await writer.read { db in try Self.runnableInboxJobs(db, limit: limit, now: now) }
    }

    /// Up to `limit` runnable jobs, oldest first, read in the caller's transaction.
    /// A job is runnable when pending, due, and no older job of its tenant is backing off, which keeps jobs in order
    /// per tenant. The `NOT EXISTS` probe uses the partial index of migration 5, so a pass stays cheap with a large
    /// backlog. (`lease_until` was set by versions that claimed jobs in a transaction of their own; it is cleared at
    /// startup and no longer written.)
    static func runnableInboxJobs(_ db: Database, limit: Int, now: Date) throws -> [InboxJob] {
        try db.cachedRows(sql: """
            SELECT i.id, i.event_id, i.tenant, i.kind, i.attempts, e.payload
            FROM inbox i JOIN webhook_events e ON e.id = i.event_id
            WHERE i.status = 'pending' AND i.available_at <= ?1
              AND NOT EXISTS (SELECT 1 FROM inbox p WHERE p.tenant = i.tenant AND p.status = 'pending'
                              AND p.available_at > ?1 AND p.id < i.id)
            ORDER BY i.id LIMIT ?2
            """, arguments: [now.timeIntervalSince1970, limit]).map { row in
            InboxJob(id: row["id"], eventID: row["event_id"], tenant: row["tenant"], kind: row["kind"],
                     attempts: (row["attempts"] as Int) + 1, payload: row["payload"])
        }
    }

    /// Marks a job done inside the caller's transaction (so its effects and completion commit together). Returns
    /// false when the job is no longer pending (only possible if two servers worked one file; `ServeLock` prevents it).
    /// `countAttempt` false: the attempt was counted when it started (`startInboxAttempt`).
    static func completeInboxJob(_ db: Database, id: Int64, now: Date, countAttempt: Bool = true) throws -> Bool {
        try db.cachedExecute(sql: """
            UPDATE inbox SET status = 'done', attempts = attempts + ?, lease_until = NULL, last_error = NULL, updated_at = ?
            WHERE id = ? AND status = 'pending'
            """, arguments: [countAttempt ? 1 : 0, Timestamp.iso(now), id])
        return db.changesCount > 0
    }

    /// Counts an attempt before the job is applied, in its own transaction (the first batch after startup); false when
    /// the job is no longer pending.
    static func startInboxAttempt(_ db: Database, id: Int64, now: Date) throws -> Bool {
        try db.cachedExecute(sql: "UPDATE inbox SET attempts = attempts + 1, updated_at = ? WHERE id = ? AND status = 'pending'",
                             arguments: [Timestamp.iso(now), id])
        return db.changesCount > 0
    }

    /// Records a failed attempt: the job is retried after `backoff` seconds, or parked.
    static func failInboxJob(_ db: Database, job: InboxJob, error: String, now: Date, backoff: Double, park: Bool) throws {
        try db.cachedExecute(sql: """
            UPDATE inbox SET status = ?, attempts = ?, lease_until = NULL, available_at = ?, last_error = ?, updated_at = ?
            WHERE id = ? AND status = 'pending'
            """, arguments: [park ? "parked" : "pending", job.attempts, now.timeIntervalSince1970 + backoff, String(error.prefix(500)),
                             Timestamp.iso(now), job.id])
    }

    /// Releases every lease at startup: `avio serve` is the only process working the queues of its file, so a lease
    /// still set belongs to a process that died, and its jobs can run at once instead of after the lease expires.
    /// Returns how many inbox and outbox jobs were released.
    public func releaseStaleLeases() throws -> (inbox: Int, outbox: Int) {
        try writer.write { db in
            try db.cachedExecute(sql: "UPDATE inbox SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL")
            let inbox = db.changesCount
            try db.cachedExecute(sql: "UPDATE outbox SET lease_until = NULL WHERE status = 'queued' AND lease_until IS NOT NULL")
            return (inbox, db.changesCount)
        }
    }

    /// Counts per status, for `/metrics`, `/health` and `GET /admin/inbox`.
    public func queueDepths(table: QueueTable) async throws -> [String: Int] {
        try await writer.read { db in
            var depths: [String: Int] = [:]
            for row in try db.cachedRows(sql: "SELECT status, COUNT(*) AS n FROM \(table.rawValue) GROUP BY status") {
                depths[row["status"]] = row["n"]
            }
            return depths
        }
    }

    public enum QueueTable: String, Sendable { case inbox, outbox }

    /// Jobs in each of `statuses` only: one index range count per status (`inbox_ready`/`outbox_ready` lead with the
    /// status), so asking for the small statuses (pending, parked, queued, failed) stays cheap however many finished
    /// jobs the table holds. `queueDepths(table:)` counts every row (~70 ms per 2 million jobs here).
    public func queueDepths(table: QueueTable, statuses: [String]) async throws -> [String: Int] {
        try await writer.read { db in
            var depths: [String: Int] = [:]
            for status in statuses {
                depths[status] = try db.cachedValue(Int.self, sql: "SELECT COUNT(*) FROM \(table.rawValue) WHERE status = ?",
                                                    arguments: [status]) ?? 0
            }
            return depths
        }
    }

    /// Inbox jobs by status, newest first (`GET /admin/inbox?status=`).
    public func inboxJobs(tenant: Int64?, status: String?, limit: Int, before: Int64?) async throws -> [JSONValue] {
        try await writer.read { db in
            try db.cachedRows(sql: """
                SELECT id, event_id, tenant, kind, status, attempts, last_error, available_at, created_at, updated_at FROM inbox
                WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR tenant = ?2) AND (?3 IS NULL OR id < ?3)
                ORDER BY id DESC LIMIT ?4
                """, arguments: [status, tenant, before, limit]).map { row in
                [
                    "id": .int(row["id"]), "event_id": .int(row["event_id"]), "tenant": .int(row["tenant"]),
                    "kind": .string(row["kind"]), "status": .string(row["status"]), "attempts": .int(row["attempts"]),
                    "last_error": .string(row["last_error"] as String?),
                    "available_at": .int(Int64(((row["available_at"] as Double) * 1000).rounded())),
                    "created_at": .string(row["created_at"]), "updated_at": .string(row["updated_at"]),
                ]
            }
        }
    }
}
