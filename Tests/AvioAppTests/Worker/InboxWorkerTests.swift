import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Testing

@testable import AvioApp

@Suite("Inbox worker (CONTRACT §5.5)")
struct InboxWorkerTests {
    @Test("a WhatsApp message becomes a contact, an open lead and an inbound message")
    func whatsappMessageStored() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(
                media: [["type": "image", "url": "whatsapp://1/x", "name": "p.jpg", "mime": "image/jpeg", "size": 1234]]))
            #expect(try await app.services.inboxWorker.runOnce() == 1)
            let leads = try await app.get("/admin/leads?tenant=1", headers: app.admin)
            #expect(leads.status == .ok)
            let lead = try #require(leads.json["items"]?.arrayValue?.first)
            #expect(lead["contact"]?["phone"] == "79991234567")
            #expect(lead["status"] == "open")
            #expect(lead["message_count"] == 1)
            let id = try #require(lead["id"]?.textValue)
            let messages = try await app.get("/admin/leads/\(id)/messages", headers: app.admin)
            let message = try #require(messages.json["items"]?.arrayValue?.first)
            #expect(message["direction"] == "in")
            #expect(message["text"] == "Привет")
            #expect(message["status"] == "received")
            #expect(message["provider_message_id"] == "wamid.1")
            #expect(message["ts"] == "2024-05-27T08:53:20.000Z")
            #expect(message["media"]?.arrayValue?.first?["url"] == "whatsapp://1/x")
            let inbox = try await app.get("/admin/inbox?status=done", headers: app.admin)
            #expect(inbox.json["depth"] == json(#"{"done":1}"#))
            let metrics = try await app.get("/metrics").text
            #expect(metrics.contains(#"messages_in_total{channel="whatsapp"} 1"#))
            #expect(metrics.contains(#"inbox_jobs_total{outcome="done"} 1"#))
        }
    }

    @Test("a Telegram payload is stored under the sender's Telegram contact")
    func telegramStored() async throws {
        try await withTestApp { app in
            _ = try await app.post("/webhook", headers: app.admin, json: Fixture.telegram())
            try await app.services.inboxWorker.runOnce()
            let row = try app.database.writer.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT c.external_id, c.channel, m.text, m.provider_message_id, m.media FROM messages m JOIN contacts c ON c.id = m.contact_id
                    """)
            }
            #expect(row?["external_id"] == "777")
            #expect(row?["channel"] == "telegram")
            #expect(row?["text"] == "hello there")
            #expect(row?["provider_message_id"] == "777:101")
        }
    }

    @Test("two messages from one contact share one open lead")
    func oneLeadPerContact() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "a"))
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "b"))
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "c", from: "79990000000"))
            try await app.services.inboxWorker.runOnce()
            #expect(try await app.count("leads") == 2)
            #expect(try await app.count("contacts") == 2)
            #expect(try await app.count("messages") == 3)
        }
    }

    @Test("a pass that dies before its commit leaves its jobs pending; the next pass processes them exactly once")
    func abandonedPassRetried() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            // A pass does all its work and dies before its commit (the transaction is rolled back, as after kill -9).
            let jobs = try await app.database.runnableInboxJobs(limit: 10, now: app.services.clock.now())
            #expect(jobs.count == 1)
            struct Crash: Error {}
            await #expect(throws: Crash.self) {
                try await app.database.writer.write { db in
                    _ = try InboxWorker.process(jobs.map { ($0, InboxWorker.decode($0)) }, db: db, now: Date(), maxAttempts: 5)
                    #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") == 1)
                    throw Crash()
                }
            }
            #expect(try await app.count("messages") == 0)
            #expect(try await app.services.inboxWorker.runOnce() == 1)
            #expect(try await app.services.inboxWorker.runOnce() == 0)
            #expect(try await app.count("messages") == 1)
            let row = try app.database.writer.read { db in try Row.fetchOne(db, sql: "SELECT status, attempts FROM inbox") }
            #expect(row?["status"] == "done")
            #expect(row?["attempts"] == 1)
        }
    }

    @Test("a job finished by someone else after it was read is skipped, not applied a second time")
    func finishedMeanwhileSkipped() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "a"))
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "b"))
            let jobs = try await app.database.runnableInboxJobs(limit: 10, now: app.services.clock.now())
            #expect(jobs.count == 2)
            try await app.database.writer.write { db in try db.execute(sql: "UPDATE inbox SET status = 'done' WHERE id = ?", arguments: [jobs[0].id]) }
            let outcomes = try await app.database.writer.write { db in
                try InboxWorker.process(jobs.map { ($0, InboxWorker.decode($0)) }, db: db, now: Date(), maxAttempts: 5)
            }
            #expect(outcomes.map(\.0.id) == [jobs[1].id])
            #expect(try await messageIDs(app) == ["b"])
        }
    }

    @Test("a job the server died on 5 times is parked by the first pass after startup; the jobs around it still run")
    func crashLoopParked() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            for id in ["a", "b", "c"] { _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: id)) }
            // "b" was started 5 times by servers that died before finishing it (the first pass counts before applying).
            try await app.database.writer.write { db in try db.execute(sql: "UPDATE inbox SET attempts = 5 WHERE id = 2") }
            #expect(try await app.services.inboxWorker.runOnce() == 2)  // a stored, b parked; c waits behind b this pass
            #expect(try await messageIDs(app) == ["a"])
            let parked = try await app.get("/admin/inbox?status=parked", headers: app.admin)
            let job = try #require(parked.json["items"]?.arrayValue?.first)
            #expect(job["id"] == 2)
            #expect(job["attempts"] == 6)
            #expect(job["last_error"] == "not finished after 5 attempts: the server stopped while processing it")
            #expect(try await app.services.inboxWorker.runOnce() == 1)
            #expect(try await messageIDs(app) == ["a", "c"])
            let attempts = try await app.database.writer.read { db in try Int.fetchAll(db, sql: "SELECT attempts FROM inbox ORDER BY id") }
            #expect(attempts == [1, 6, 1])
        }
    }

    @Test("reprocessing a job never duplicates its message")
    func idempotentProcessing() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            #expect(try await app.services.inboxWorker.runOnce() == 1)
            // The job's completion is lost (e.g. the database restored from a copy taken in between): it runs again.
            try await app.database.writer.write { db in try db.execute(sql: "UPDATE inbox SET status = 'pending'") }
            #expect(try await app.services.inboxWorker.runOnce() == 1)
            #expect(try await app.count("messages") == 1)
            let metrics = try await app.get("/metrics").text
            #expect(metrics.contains(#"inbox_jobs_total{outcome="done"} 1"#))
            #expect(metrics.contains(#"inbox_jobs_total{outcome="duplicate"} 1"#))
        }
    }

    @Test("a poison job is retried with backoff, then parked with its error visible")
    func poisonJobParked() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            // Corrupt the stored event so processing fails every time.
            try await app.database.writer.write { db in try db.execute(sql: "UPDATE webhook_events SET payload = '{'") }
            var delays: [Double] = []
            for _ in 1...5 {
                #expect(try await app.services.inboxWorker.runOnce() == 1)
                let available = try await app.database.writer.read { db in try Double.fetchOne(db, sql: "SELECT available_at FROM inbox") }
                delays.append((available ?? 0) - clock.now().timeIntervalSince1970)
                #expect(try await app.services.inboxWorker.runOnce() == 0)  // backing off
                clock.advance(by: 400)
            }
            #expect(delays.prefix(4) == [2, 4, 8, 16])
            let parked = try await app.get("/admin/inbox?status=parked", headers: app.admin)
            let job = try #require(parked.json["items"]?.arrayValue?.first)
            #expect(job["status"] == "parked")
            #expect(job["attempts"] == 5)
            #expect(job["last_error"] == "payload is not JSON")
            #expect(try await app.services.inboxWorker.runOnce() == 0)
        }
    }

    @Test("jobs run in order per tenant: a later job waits while an earlier one backs off")
    func orderPerTenant() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { app in
            let one = try await app.token(1), two = try await app.token(2)
            _ = try await app.post("/webhook?token=\(one)", json: Fixture.incoming(tenant: 1, id: "first"))
            _ = try await app.post("/webhook?token=\(one)", json: Fixture.incoming(tenant: 1, id: "second"))
            _ = try await app.post("/webhook?token=\(two)", json: Fixture.incoming(tenant: 2, id: "other"))
            try await app.database.writer.write { db in
                try db.execute(sql: "UPDATE webhook_events SET payload = '{' WHERE message_id = 'first'")
            }
            #expect(try await app.services.inboxWorker.runOnce() == 2)  // handled: first (failed) and other; second waits
            #expect(try await messageIDs(app) == ["other"])  // first failed, so second waits behind it
            #expect(try await app.services.inboxWorker.runOnce() == 0)
            try await app.database.writer.write { db in
                try db.execute(sql: "UPDATE webhook_events SET payload = (SELECT payload FROM webhook_events WHERE message_id = 'second') WHERE message_id = 'first'")
            }
            clock.advance(by: 10)
            #expect(try await app.services.inboxWorker.runOnce() == 2)
            #expect(try await messageIDs(app) == ["other", "second"])  // "first" now carries the payload of "second": deduplicated
            let attempts = try await app.database.writer.read { db in try Int.fetchAll(db, sql: "SELECT attempts FROM inbox ORDER BY id") }
            #expect(attempts == [2, 1, 1])
        }
    }

    private func messageIDs(_ app: TestContext) async throws -> [String] {
        try await app.database.writer.read { db in try String.fetchAll(db, sql: "SELECT provider_message_id FROM messages ORDER BY id") }
    }

    @Test("a ready event marks the WhatsApp session ready in SQLite")
    func readyPersisted() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.ready())
            try await app.services.inboxWorker.runOnce()
            let state = try await app.database.writer.read { db in try String.fetchOne(db, sql: "SELECT state FROM wa_sessions WHERE tenant = 1") }
            #expect(state == "ready")
        }
    }
}

@Suite("Inbox claim with a backlog")
struct InboxBacklogTests {
    @Test("a backlog of 5,000 jobs of one tenant drains in id order, respecting a blocked head job")
    func backlog() async throws {
        let database = try AppDatabase(path: temporaryDatabasePath())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let envelopes = (0..<5_000).map { InboundEnvelope(tenant: 1, channel: "whatsapp", event: "messages.incoming", messageID: "m\($0)", payload: "{}") }
        _ = try database.ingest(envelopes, now: now)
        _ = try database.ingest([InboundEnvelope(tenant: 2, channel: "whatsapp", event: "ready", messageID: nil, payload: "{}")], now: now)
        // Tenant 1's head job backs off: nothing of tenant 1 may run, tenant 2 may.
        try await database.writer.write { db in try db.execute(sql: "UPDATE inbox SET available_at = ? WHERE id = 1", arguments: [now.timeIntervalSince1970 + 60]) }
        let blocked = try await database.runnableInboxJobs(limit: 64, now: now)
        #expect(blocked.map(\.tenant) == [2])
        // Once due again, tenant 1's jobs come in id order, 64 at a time.
        let later = now.addingTimeInterval(61)
        let first = try await database.runnableInboxJobs(limit: 64, now: later)
        #expect(first.map(\.id) == Array(1...64))
        try await database.writer.write { db in try db.execute(sql: "UPDATE inbox SET status = 'done' WHERE id <= 64") }
        #expect(try await database.runnableInboxJobs(limit: 64, now: later).map(\.id) == Array(65...128))
    }
}
