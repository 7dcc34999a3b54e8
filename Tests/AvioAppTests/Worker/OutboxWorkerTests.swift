import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Synchronization
import Testing

@testable import AvioApp

@Suite("Outbox worker and queued sends (CONTRACT §6.3)")
struct OutboxWorkerTests {
    let message: JSONValue = ["tenant": 1, "channel": "whatsapp", "to": "+79991234567", "text": "queued hello"]

    @Test("POST /send?async=1 answers 202 with the job id, and the worker delivers it")
    func queuedAndDelivered() async throws {
        try await withSendApp(worker: { _ in .ok(["ok": true, "message_id": "wa-1"]) }) { app, worker in
            let queued = try await app.send(message, query: "?async=1")
            #expect(queued.status == .accepted)
            #expect(queued.json == json(#"{"ok":true,"queued":true,"id":1}"#))
            #expect(worker.requests.isEmpty)
            #expect(try await app.get("/admin/outbox/1", headers: app.admin).json["status"] == "queued")
            #expect(try await app.services.outboxWorker.runOnce() == 1)
            #expect(worker.requests.first?.json == json(#"{"tenant":1,"channel":"whatsapp","to":"79991234567@c.us","text":"queued hello","attachments":[]}"#))
            let job = try await app.get("/admin/outbox/1", headers: app.admin)
            #expect(job.status == .ok)
            #expect(job.json["status"] == "sent")
            #expect(job.json["attempts"] == 1)
            #expect(job.json["result"] == json(#"{"ok":true,"channel":"whatsapp","to":"79991234567@c.us","message_id":"wa-1"}"#))
            #expect(try await app.outboundRows() == ["out sent -"])
            let list = try await app.get("/admin/outbox?tenant=1&status=sent", headers: app.admin)
            #expect(list.json["items"]?.arrayValue?.count == 1)
        }
    }

    @Test("guards skip jobs with their log line and no delivery attempt", arguments: [
        (false, "*", json(#"{"tenant":1,"channel":"whatsapp","to":"79991234567","text":"x"}"#), "skipped", "outbox_disabled"),
        (true, "", json(#"{"tenant":1,"channel":"whatsapp","to":"79991234567","text":"x"}"#), "skipped", "not_whitelisted"),
        (true, "*", json(#"{"tenant":1,"channel":"whatsapp","to":"123","text":"x"}"#), "skipped", "invalid_to"),
        (true, "*", json(#"{"tenant":1,"channel":"telegram","to":"me","text":"x","meta":{"lead_id":77}}"#), "failed", "err:no_lead"),
    ])
    func guards(enabled: Bool, whitelist: String, body: JSONValue, status: String, reason: String) async throws {
        let logs = LogRecorder()
        try await withSendApp(enabled: enabled, whitelist: whitelist, logs: logs) { app, worker in
            #expect(try await app.send(body, query: "?async=1").status == .accepted)
            try await app.services.outboxWorker.runOnce()
            #expect(worker.requests.isEmpty)
            let job = try await app.get("/admin/outbox/1", headers: app.admin).json
            #expect(job["status"] == .string(status))
            #expect(job["reason"] == .string(reason))
        }
        #expect(logs.lines(containing: "outbox job", "status=\(status)", "reason=\(reason)").count == 1)
    }

    @Test("429, 5xx and timeouts are retried with exponential backoff, then failed after 5 attempts")
    func retriesThenFails() async throws {
        let clock = ManualClock()
        try await withSendApp(clock: clock, worker: { _ in .error(503, "busy") }) { app, worker in
            _ = try await app.send(message, query: "?async=1")
            var delays: [Double] = []
            for attempt in 1...5 {
                #expect(try await app.services.outboxWorker.runOnce() == 1)
                #expect(worker.requests.count == attempt)
                if attempt < 5 {
                    let available = try await app.database.writer.read { db in try Double.fetchOne(db, sql: "SELECT available_at FROM outbox") }
                    delays.append((available ?? 0) - clock.now().timeIntervalSince1970)
                    #expect(try await app.services.outboxWorker.runOnce() == 0)
                    clock.advance(by: delays.last ?? 0)
                }
            }
            #expect(delays == [2, 4, 8, 16])
            let job = try await app.get("/admin/outbox/1", headers: app.admin).json
            #expect(job["status"] == "failed")
            #expect(job["reason"] == "busy")
            #expect(job["attempts"] == 5)
            #expect(try await app.outboundRows() == ["out failed busy"])
            let metrics = try await app.get("/metrics").text
            #expect(metrics.contains(#"outbox_jobs_total{status="retry",reason="busy"} 4"#))
            #expect(metrics.contains(#"outbox_jobs_total{status="failed",reason="busy"} 1"#))
            #expect(metrics.contains(#"messages_out_total{channel="whatsapp",status="failed"} 1"#))
            #expect(metrics.contains(#"outbox_queue_depth{status="failed"} 1"#))
        }
    }

    @Test("a retried job succeeds once the worker recovers")
    func retryThenSucceed() async throws {
        let clock = ManualClock()
        let failures = LockedCounter()
        try await withSendApp(clock: clock, worker: { _ in failures.next() <= 2 ? .error(429, "flood_wait", headers: ["Retry-After": "1"]) : .ok() }) { app, worker in
            _ = try await app.send(message, query: "?async=1")
            for _ in 0..<3 {
                try await app.services.outboxWorker.runOnce()
                clock.advance(by: 10)
            }
            #expect(worker.requests.count == 3)
            #expect(try await app.get("/admin/outbox/1", headers: app.admin).json["status"] == "sent")
        }
    }

    @Test("a non-retryable worker error fails the job at once")
    func permanentFailure() async throws {
        try await withSendApp(worker: { _ in .error(404, "no_session") }) { app, worker in
            _ = try await app.send(message, query: "?async=1")
            try await app.services.outboxWorker.runOnce()
            let job = try await app.get("/admin/outbox/1", headers: app.admin).json
            #expect(job["status"] == "failed")
            #expect(job["reason"] == "no_session")
            #expect(job["http_status"] == 409)
        }
    }

    @Test("a queued send with a known idempotency key returns the first job")
    func idempotentQueue() async throws {
        try await withSendApp { app, _ in
            var body = message
            if case .object(var fields) = body { fields["meta"] = ["idempotency_key": "k-1"]; body = .object(fields) }
            let first = try await app.send(body, query: "?async=1")
            let second = try await app.send(body, query: "?async=1")
            #expect(first.json == json(#"{"ok":true,"queued":true,"id":1}"#))
            #expect(second.json == json(#"{"ok":true,"queued":true,"id":1,"duplicate":true}"#))
            #expect(try await app.count("outbox") == 1)
        }
    }

    @Test("a job leased by a crashed worker is delivered after the lease expires")
    func crashedLease() async throws {
        let clock = ManualClock()
        try await withSendApp(clock: clock) { app, worker in
            _ = try await app.send(message, query: "?async=1")
            _ = try await app.database.claimOutboxJobs(limit: 1, now: clock.now(), leaseSeconds: 120)
            #expect(try await app.services.outboxWorker.runOnce() == 0)
            clock.advance(by: 121)
            #expect(try await app.services.outboxWorker.runOnce() == 1)
            #expect(worker.requests.count == 1)
        }
    }

    @Test("unknown outbox ids are 404 and bad filters are 400")
    func readErrors() async throws {
        try await withTestApp { app in
            #expect(try await app.get("/admin/outbox/99", headers: app.admin).json == json(#"{"ok":false,"error":"not_found"}"#))
            let bad = try await app.get("/admin/outbox?status=lost", headers: app.admin)
            #expect(bad.status == .badRequest)
            #expect(bad.json == json(#"{"ok":false,"error":"invalid_parameter","detail":"status"}"#))
            let badTenant = try await app.get("/admin/outbox?tenant=-1", headers: app.admin)
            #expect(badTenant.json == json(#"{"ok":false,"error":"invalid_tenant"}"#))
            let badLimit = try await app.get("/admin/leads?limit=100000", headers: app.admin)
            #expect(badLimit.json == json(#"{"ok":false,"error":"invalid_parameter","detail":"limit"}"#))
        }
    }
}

/// A thread-safe counter for scripted fake workers.
final class LockedCounter: Sendable {
    private let value = Synchronization.Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}
