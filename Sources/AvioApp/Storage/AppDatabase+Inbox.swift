import Foundation
import GRDB

/// A claimed inbox job with its event.
public struct InboxJob: Sendable, Equatable {
    public var id: Int64
    public var eventID: Int64
    public var tenant: Int64
    public var kind: String
    public var attempts: Int
    public var payload: String
}

extension AppDatabase {
    /// Claims up to `limit` runnable jobs with a lease (CONTRACT §5.5). A job is runnable when pending, due, not
    /// leased (or its lease expired: its worker crashed), and no older job of its tenant is blocked (backing off or
    /// leased), which keeps jobs in order per tenant. The two `NOT EXISTS` probes use the partial indexes of migration 5,
    /// so a claim stays cheap with a large backlog (a single combined probe walked every older job: quadratic).
    public func claimInboxJobs(limit: Int, now: Date, leaseSeconds: Double) async throws -> [InboxJob] {
        let epoch = now.timeIntervalSince1970
        return try await writer.write { db in
            let rows = try db.cachedRows(sql: """
                SELECT i.id, i.event_id, i.tenant, i.kind, i.attempts, e.payload
                FROM inbox i JOIN webhook_events e ON e.id = i.event_id
                WHERE i.status = 'pending' AND i.available_at <= ?1 AND (i.lease_until IS NULL OR i.lease_until <= ?1)
                  AND NOT EXISTS (SELECT 1 FROM inbox p WHERE p.tenant = i.tenant AND p.status = 'pending'
                                  AND p.available_at > ?1 AND p.id < i.id)
                  AND NOT EXISTS (SELECT 1 FROM inbox p WHERE p.tenant = i.tenant AND p.status = 'pending'
                                  AND p.lease_until > ?1 AND p.id < i.id)
                ORDER BY i.id LIMIT ?2
                """, arguments: [epoch, limit])
            let jobs = rows.map { row in
                InboxJob(id: row["id"], eventID: row["event_id"], tenant: row["tenant"], kind: row["kind"],
                         attempts: (row["attempts"] as Int) + 1, payload: row["payload"])
            }
            let claim = try db.cachedStatement(sql: "UPDATE inbox SET lease_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?")
            for job in jobs { try claim.execute(arguments: [epoch + leaseSeconds, Timestamp.iso(now), job.id]) }
            return jobs
        }
    }

    /// Marks a job done inside the caller's transaction (so its effects and completion commit together).
    static func completeInboxJob(_ db: Database, id: Int64, now: Date) throws {
        try db.cachedExecute(sql: "UPDATE inbox SET status = 'done', lease_until = NULL, last_error = NULL, updated_at = ? WHERE id = ?",
                       arguments: [Timestamp.iso(now), id])
    }

    /// Records a failed attempt: retried after `backoff` seconds, or parked once `attempts` reached `maxAttempts`.
    /// Returns true when parked.
    static func failInboxJob(_ db: Database, job: InboxJob, error: String, now: Date, backoff: Double, maxAttempts: Int) throws -> Bool {
        let parked = job.attempts >= maxAttempts
        try db.cachedExecute(sql: """
            UPDATE inbox SET status = ?, lease_until = NULL, available_at = ?, last_error = ?, updated_at = ? WHERE id = ?
            """, arguments: [parked ? "parked" : "pending", now.timeIntervalSince1970 + backoff, String(error.prefix(500)),
                             Timestamp.iso(now), job.id])
        return parked
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
