import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AvioApp

/// Runs a test with both workers faked by one live loopback server (paths distinguish nothing here: each test
/// configures the channel it uses).
func withSendApp(enabled: Bool = true, whitelist: String = "*", clock: ManualClock = ManualClock(), logs: LogRecorder = LogRecorder(),
                 worker script: @escaping @Sendable (RecordedRequest) -> FakeReply = { _ in .ok() },
                 _ body: @Sendable (TestContext, FakeWorker) async throws -> Void) async throws {
    try await FakeWorker.with(script) { worker in
        var config = AppConfig.testing(tgWorkerBaseURL: worker.baseURL, wawebBaseURL: worker.baseURL, outboxEnabled: enabled,
                                       outboxWhitelist: Whitelist(whitelist))
        config.appBaseURL = URL(string: "https://avio.example")!
        try await withTestApp(config: config, clock: clock, logger: logs.logger) { app in try await body(app, worker) }
    }
}

extension TestContext {
    func send(_ body: JSONValue, query: String = "", headers: HTTPFields = [:]) async throws -> TestResponse {
        var all = admin
        all.append(contentsOf: headers)
        return try await post("/send" + query, headers: all, json: body)
    }

    /// `messages` rows as (direction, status, error).
    func outboundRows() async throws -> [String] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT direction, status, error FROM messages ORDER BY id").map {
                "\($0["direction"] as String) \($0["status"] as String) \(($0["error"] as String?) ?? "-")"
            }
        }
    }
}

@Suite("POST /send (CONTRACT §6)")
struct SendRoutesTests {
    @Test("the README's three WhatsApp recipients reach the worker as digits@c.us", arguments: ["+79991234567", "79991234567", "79991234567@c.us"])
    func readmeExamples(to: String) async throws {
        try await withSendApp(whitelist: "79991234567") { app, worker in
            let response = try await app.send(["tenant": 1, "channel": "whatsapp", "to": .string(to), "text": "E164 demo"])
            #expect(response.status == .ok)
            #expect(response.json == json(#"{"ok":true,"channel":"whatsapp","to":"79991234567@c.us"}"#))
            let request = try #require(worker.requests.first)
            #expect(request.method == "POST" && request.path == "/send")
            #expect(request.header("X-Auth-Token") == "test-waweb-token")
            #expect(request.header("X-Admin-Token") == nil)
            #expect(request.json == json(#"{"tenant":1,"channel":"whatsapp","to":"79991234567@c.us","text":"E164 demo","attachments":[]}"#))
            #expect(try await app.outboundRows() == ["out sent -"])
        }
    }

    @Test("sending is disabled by default: 403 outbox_disabled, nothing reaches a worker")
    func disabledByDefault() async throws {
        try await withSendApp(enabled: false) { app, worker in
            let response = try await app.send(["tenant": 1, "channel": "whatsapp", "to": "+79991234567", "text": "x"])
            #expect(response.status == .forbidden)
            #expect(response.json == json(#"{"ok":false,"error":"outbox_disabled"}"#))
            #expect(worker.requests.isEmpty)
            #expect(try await app.outboundRows() == ["out skipped outbox_disabled"])
        }
    }

    @Test("guards run in the contract's order", arguments: [
        // (enabled, whitelist, body, status, expected)
        (false, "*", #"{"tenant":1,"channel":"fax","to":"x","text":"x"}"#, 422, #"{"ok":false,"error":"invalid_payload","detail":"channel"}"#),
        (false, "*", #"{"tenant":1,"channel":"whatsapp","to":"123","text":"x"}"#, 403, #"{"ok":false,"error":"outbox_disabled"}"#),
        (true, "", #"{"tenant":1,"channel":"whatsapp","to":"123","text":"x"}"#, 422, #"{"ok":false,"error":"invalid_to"}"#),
        (true, "", #"{"tenant":1,"channel":"whatsapp","to":"120363025246125486@g.us","text":"x"}"#, 422, #"{"ok":false,"error":"invalid_to"}"#),
        (true, "", #"{"tenant":1,"channel":"whatsapp","to":"79991234567","text":"x"}"#, 403, #"{"ok":false,"error":"not_whitelisted"}"#),
        (true, "79990000000", #"{"tenant":1,"channel":"telegram","to":"@someone","text":"x"}"#, 403, #"{"ok":false,"error":"not_whitelisted"}"#),
        (true, "*", #"{"tenant":1,"channel":"telegram","to":"me"}"#, 422, #"{"ok":false,"error":"invalid_payload","detail":"text"}"#),
        (true, "*", #"{"tenant":0,"channel":"telegram","to":"me","text":"x"}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (true, "*", #"{"tenant":1,"channel":"telegram","to":"me","text":"x","attachments":"no"}"#, 422, #"{"ok":false,"error":"invalid_payload","detail":"attachments"}"#),
        (true, "*", #"{"tenant":1,"channel":"telegram","to":"me","text":"x","meta":{"lead_id":"x"}}"#, 422, #"{"ok":false,"error":"invalid_payload","detail":"meta.lead_id"}"#),
        (true, "*", #"{"tenant":1,"channel":"telegram","to":"me","text":"x","meta":{"lead_id":999}}"#, 404, #"{"ok":false,"error":"no_lead"}"#),
        (true, "*", #"{"tenant":1,"channel":"telegram","to":"me","text":"x","meta":{"reply_to":{"a":1}}}"#, 422, #"{"ok":false,"error":"invalid_payload","detail":"meta.reply_to"}"#),
        (true, "*", "{oops", 400, #"{"ok":false,"error":"invalid_json"}"#),
    ])
    func guardOrder(enabled: Bool, whitelist: String, body: String, status: Int, expected: String) async throws {
        try await withSendApp(enabled: enabled, whitelist: whitelist) { app, worker in
            let response = try await app.request(.post, "/send", headers: app.admin, body: body)
            #expect(response.status.code == status)
            #expect(response.json == json(expected))
            #expect(worker.requests.isEmpty)
        }
    }

    @Test("a Telegram send carries X-Admin-Token, channel and meta, and returns the worker's ids")
    func telegramSend() async throws {
        try await withSendApp(worker: { _ in .ok(["ok": true, "peer_id": 777, "message_id": 55]) }) { app, worker in
            let response = try await app.send(json(#"{"tenant":1,"channel":"telegram","to":"me","text":"Привет!","attachments":[{"type":"file","url":"/files/a.pdf","name":"a.pdf","mime":"application/pdf"}],"meta":{"reply_to":"12345"}}"#))
            #expect(response.status == .ok)
            #expect(response.json == json(#"{"ok":true,"channel":"telegram","to":"me","peer_id":777,"message_id":55}"#))
            let request = try #require(worker.requests.first)
            #expect(request.header("X-Admin-Token") == "test-admin-token")
            #expect(request.json == json(#"{"tenant":1,"channel":"telegram","to":"me","text":"Привет!","attachments":[{"type":"file","url":"https://avio.example/files/a.pdf","name":"a.pdf","mime":"application/pdf"}],"meta":{"reply_to":"12345"}}"#))
            let stored = try await app.database.writer.read { db in try String.fetchOne(db, sql: "SELECT provider_message_id FROM messages") }
            #expect(stored == "out:55")
        }
    }

    @Test("worker answers are normalized, never passed through", arguments: [
        ("telegram", FakeReply.error(401, "not_authorized"), 409, #"{"ok":false,"error":"relogin_required"}"#),
        ("telegram", FakeReply.error(409, "not_authorized"), 409, #"{"ok":false,"error":"relogin_required"}"#),
        ("telegram", FakeReply(status: 409, json: ["detail": "whatever"], headers: ["X-Reauth": "1"]), 409, #"{"ok":false,"error":"relogin_required"}"#),
        ("telegram", FakeReply.error(400, "Cannot find any entity corresponding to \"x\""), 422, #"{"ok":false,"error":"rejected_by_worker"}"#),
        ("telegram", FakeReply.error(400, "peer_id_invalid"), 422, #"{"ok":false,"error":"peer_id_invalid"}"#),
        ("telegram", FakeReply.error(403, "forbidden_peer_type"), 403, #"{"ok":false,"error":"forbidden_peer_type"}"#),
        ("telegram", FakeReply.error(500, "send_failed"), 502, #"{"ok":false,"error":"send_failed"}"#),
        ("telegram", FakeReply.error(429, "flood_wait", headers: ["Retry-After": "30"]), 429, #"{"ok":false,"error":"flood_wait","retry_after":30}"#),
        ("whatsapp", FakeReply.error(400, "invalid_to"), 422, #"{"ok":false,"error":"invalid_to"}"#),
        ("whatsapp", FakeReply.error(400, "empty_message"), 422, #"{"ok":false,"error":"empty_message"}"#),
        ("whatsapp", FakeReply.error(400, "channel_mismatch"), 422, #"{"ok":false,"error":"channel_mismatch"}"#),
        ("whatsapp", FakeReply.error(404, "no_session"), 409, #"{"ok":false,"error":"no_session"}"#),
        ("whatsapp", FakeReply.error(500, "media_fetch"), 502, #"{"ok":false,"error":"media_fetch"}"#),
        ("whatsapp", FakeReply.error(401, "unauthorized"), 502, #"{"ok":false,"error":"worker_unauthorized"}"#),
        ("whatsapp", FakeReply(status: 502, json: nil, bytes: Array("<html>bad gateway</html>".utf8)), 502, #"{"ok":false,"error":"worker_error"}"#),
    ])
    func normalizedAnswers(channel: String, reply: FakeReply, status: Int, expected: String) async throws {
        try await withSendApp(worker: { _ in reply }) { app, worker in
            let to: JSONValue = channel == "telegram" ? "@shop_owner" : "79991234567"
            let response = try await app.send(["tenant": 1, "channel": .string(channel), "to": to, "text": "hi"])
            #expect(response.status.code == status)
            #expect(response.json == json(expected))
            #expect(worker.requests.count == 1)
            #expect(try await app.outboundRows().first?.hasPrefix("out failed") == true)
        }
    }

    @Test("a worker that is down is 502 worker_unreachable")
    func workerDown() async throws {
        var config = AppConfig.testing(outboxEnabled: true, outboxWhitelist: Whitelist("*"))
        config.workerTimeoutSeconds = 5
        try await withTestApp(config: config) { app in
            let response = try await app.send(["tenant": 1, "channel": "whatsapp", "to": "79991234567", "text": "hi"])
            #expect(response.status == .badGateway)
            #expect(response.json == json(#"{"ok":false,"error":"worker_unreachable"}"#))
            #expect(try await app.outboundRows() == ["out failed worker_unreachable"])
        }
    }

    @Test("a worker that hangs past the timeout is 504 worker_timeout")
    func workerHangs() async throws {
        try await withSendApp(worker: { _ in FakeReply(delay: .seconds(4)) }) { app, _ in
            let response = try await app.send(["tenant": 1, "channel": "whatsapp", "to": "79991234567", "text": "hi"])
            #expect(response.status == .gatewayTimeout)
            #expect(response.json == json(#"{"ok":false,"error":"worker_timeout"}"#))
        }
    }

    @Test("sends are recorded under the lead named in meta.lead_id")
    func recordedUnderLead() async throws {
        try await withSendApp { app, _ in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            try await app.services.inboxWorker.runOnce()
            let response = try await app.send(["tenant": 1, "channel": "whatsapp", "to": "79991234567", "text": "reply", "meta": ["lead_id": 1]])
            #expect(response.status == .ok)
            let messages = try await app.get("/admin/leads/1/messages", headers: app.admin).json["items"]?.arrayValue ?? []
            #expect(messages.map { $0["direction"] } == ["out", "in"])
        }
    }

    @Test("a repeated Idempotency-Key returns the first answer without sending twice")
    func idempotentSync() async throws {
        try await withSendApp(worker: { _ in .ok(["ok": true, "message_id": 9]) }) { app, worker in
            let body: JSONValue = ["tenant": 1, "channel": "whatsapp", "to": "79991234567", "text": "once"]
            let headers: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "order-42"]
            let first = try await app.send(body, headers: headers)
            let second = try await app.send(body, headers: headers)
            #expect(first.json == json(#"{"ok":true,"channel":"whatsapp","to":"79991234567@c.us","message_id":9}"#))
            #expect(second.status == .ok)
            #expect(second.json == json(#"{"ok":true,"channel":"whatsapp","to":"79991234567@c.us","message_id":9,"idempotent_replay":true}"#))
            #expect(worker.requests.count == 1)
        }
    }
}
