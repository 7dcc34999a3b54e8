import GRDB
import HTTPTypes
import Hummingbird
import Testing

@testable import AvioApp

/// Builders for webhook bodies (STYLE §12).
enum Fixture {
    static func incoming(tenant: Int64 = 1, id: String = "wamid.1", from: String = "79991234567", text: String? = "Привет",
                         media: JSONValue? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "event": "messages.incoming", "tenant": .int(tenant), "channel": "whatsapp", "provider": "whatsapp",
            "message_id": .string(id), "from": .string(from), "from_jid": .string(from + "@c.us"), "ts": 1_716_800_000,
        ]
        if let text { fields["text"] = .string(text) }
        if let media { fields["media"] = media }
        return .object(fields)
    }

    static func telegram(tenant: Int64 = 1, messageID: Int64 = 101, from: Int64 = 777, text: String = "hello there") -> JSONValue {
        [
            "tenant": .int(tenant), "channel": "telegram", "from_id": .int(from), "to": 999, "text": .string(text),
            "attachments": [["type": "MessageMediaPhoto", "url": "telegram://1/101", "name": "a.jpg", "mime": "image/jpeg", "size": 10]],
            "ts": 1_714_564_800, "provider_raw": ["id": .int(messageID), "peer_id": ["user_id": .int(from)]],
        ]
    }

    static func qr(tenant: Int64 = 1, id: String = "1795553100729") -> JSONValue {
        ["provider": "whatsapp", "event": "qr", "tenant": .int(tenant), "channel": "whatsapp", "qr_id": .string(id),
         "svg": "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 29 29\"><rect/></svg>\n"]
    }

    static func ready(tenant: Int64 = 1) -> JSONValue {
        ["event": "ready", "tenant": .int(tenant), "channel": "whatsapp", "provider": "whatsapp", "state": "ready", "ts": 1_795_553_101_786]
    }
}

extension TestContext {
    /// Creates the tenant's provider token and returns it.
    func token(_ tenant: Int64 = 1) async throws -> String {
        try await database.ensureProviderToken(tenant: tenant, now: services.clock.now()).0.token
    }

    func count(_ table: String) async throws -> Int {
        try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? -1 }
    }
}

@Suite("POST /webhook (CONTRACT §5)")
struct WebhookRoutesTests {
    @Test("a WhatsApp message is committed to webhook_events and the inbox before 200")
    func messageCommitted() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            let response = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            #expect(response.status == .ok)
            #expect(response.json == json(#"{"ok":true,"queued":true}"#))
            #expect(try await app.count("webhook_events") == 1)
            #expect(try await app.count("inbox") == 1)
        }
    }

    @Test("a repeated message id is answered duplicate and queued once")
    func duplicate() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "A"))
            let again = try await app.post("/webhook", headers: [HTTPField.Name("X-Provider-Token")!: token],
                                           json: Fixture.incoming(id: "A", text: "other text"))
            #expect(again.status == .ok)
            #expect(again.json == json(#"{"ok":true,"queued":false,"duplicate":true}"#))
            #expect(try await app.count("inbox") == 1)
        }
    }

    @Test("the same message id in another tenant is not a duplicate")
    func duplicateIsPerTenant() async throws {
        try await withTestApp { app in
            let one = try await app.token(1), two = try await app.token(2)
            #expect(try await app.post("/webhook?token=\(one)", json: Fixture.incoming(tenant: 1, id: "A")).json["queued"] == true)
            #expect(try await app.post("/webhook?token=\(two)", json: Fixture.incoming(tenant: 2, id: "A")).json["queued"] == true)
        }
    }

    @Test("a Telegram worker payload is accepted with the admin token")
    func telegramWithAdminToken() async throws {
        try await withTestApp { app in
            let response = try await app.post("/webhook", headers: app.admin, json: Fixture.telegram())
            #expect(response.status == .ok)
            #expect(response.json == json(#"{"ok":true,"queued":true}"#))
            let stored = try await app.database.writer.read { db in
                try String.fetchOne(db, sql: "SELECT message_id FROM webhook_events")
            }
            #expect(stored == "777:101")
        }
    }

    @Test("the admin token does not open WhatsApp events")
    func adminTokenNotForWhatsApp() async throws {
        try await withTestApp { app in
            _ = try await app.token()
            let response = try await app.post("/webhook", headers: app.admin, json: Fixture.incoming())
            #expect(response.status == .unauthorized)
            #expect(response.json == json(#"{"ok":false,"error":"unauthorized"}"#))
        }
    }

    @Test("a token of another tenant, a wrong token, or none is 401 and stores nothing")
    func tenantIsolation() async throws {
        try await withTestApp { app in
            let other = try await app.token(2)
            _ = try await app.token(1)
            for uri in ["/webhook?token=\(other)", "/webhook?token=wrong", "/webhook", "/webhook?token="] {
                let response = try await app.post(uri, json: Fixture.incoming(tenant: 1))
                #expect(response.status == .unauthorized)
                #expect(response.json == json(#"{"ok":false,"error":"unauthorized"}"#))
            }
            let unknownTenant = try await app.post("/webhook?token=\(other)", json: Fixture.incoming(tenant: 5))
            #expect(unknownTenant.status == .unauthorized)
            #expect(try await app.count("webhook_events") == 0)
        }
    }

    @Test("after a rotation the old token is refused at once and the new one works")
    func rotationTakesEffect() async throws {
        try await withTestApp { app in
            let old = try await app.token()
            #expect(try await app.post("/webhook?token=\(old)", json: Fixture.incoming(id: "a")).status == .ok)
            let rotated = try await app.request(.post, "/admin/provider-token/1/rotate", headers: app.admin)
            let new = try #require(rotated.json["provider_token"]?.stringValue)
            #expect(try await app.post("/webhook?token=\(old)", json: Fixture.incoming(id: "b")).status == .unauthorized)
            #expect(try await app.post("/webhook?token=\(new)", json: Fixture.incoming(id: "c")).status == .ok)
        }
    }

    @Test("bad bodies get clean 4xx codes and store nothing", arguments: [
        ("{\"event\":", 400, #"{"ok":false,"error":"invalid_json"}"#),
        ("[1,2]", 422, #"{"ok":false,"error":"invalid_payload","detail":"body"}"#),
        (#"{"event":"messages.incoming","channel":"whatsapp"}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (#"{"event":"messages.incoming","tenant":"x"}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (#"{"event":"messages.incoming","tenant":0}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (#"{"event":"messages.incoming","tenant":-4}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (#"{"event":"messages.incoming","tenant":1.5}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (#"{"event":"messages.incoming","tenant":1e30}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        (#"{"event":"messages.incoming","tenant":true}"#, 422, #"{"ok":false,"error":"invalid_tenant"}"#),
        ("\"just a string\"", 422, #"{"ok":false,"error":"invalid_payload","detail":"body"}"#),
        ("", 400, #"{"ok":false,"error":"invalid_json"}"#),
    ])
    func badBodies(body: String, status: Int, expected: String) async throws {
        try await withTestApp { app in
            let token = try await app.token()
            let response = try await app.request(.post, "/webhook?token=\(token)", body: body)
            #expect(response.status.code == status)
            #expect(response.json == json(expected))
            #expect(try await app.count("webhook_events") == 0)
        }
    }

    @Test("schema violations after auth are 422 invalid_payload with the field")
    func schemaAfterAuth() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            let response = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(text: nil))
            #expect(response.status == .unprocessableContent)
            #expect(response.json == json(#"{"ok":false,"error":"invalid_payload","detail":"text"}"#))
            let unknown = try await app.post("/webhook?token=\(token)", json: ["event": "typing", "tenant": 1])
            #expect(unknown.json == json(#"{"ok":false,"error":"invalid_payload","detail":"event"}"#))
        }
    }

    @Test("a qr event is cached, not queued")
    func qrCached() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            let response = try await app.post("/webhook?token=\(token)", json: Fixture.qr())
            #expect(response.status == .ok)
            #expect(response.json == json(#"{"ok":true,"queued":false,"event":"qr"}"#))
            #expect(await app.services.waStore.svg(tenant: 1, qrID: "1795553100729")?.hasPrefix("<svg") == true)
            #expect(try await app.count("inbox") == 0)
            var bad = Fixture.qr()
            if case .object(var fields) = bad { fields["svg"] = "not svg"; bad = .object(fields) }
            let invalid = try await app.post("/webhook?token=\(token)", json: bad)
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.json == json(#"{"ok":false,"error":"invalid_qr"}"#))
        }
    }

    @Test("a ready event is queued and marks the session ready")
    func ready() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            let response = try await app.post("/webhook?token=\(token)", json: Fixture.ready())
            #expect(response.json == json(#"{"ok":true,"queued":true}"#))
            #expect(await app.services.waStore.state(tenant: 1) == .ready)
            #expect(try await app.count("inbox") == 1)
        }
    }

    @Test("the request's log line names the tenant, the event and the outcome, never the token")
    func requestLogLine() async throws {
        let logs = LogRecorder()
        try await withTestApp(logger: logs.logger) { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            let lines = logs.lines(containing: "request", "path=/webhook", "status=200")
            #expect(lines.count == 1)
            #expect(lines.first?.contains("tenant=1") == true)
            #expect(lines.first?.contains("event=messages.incoming") == true)
            #expect(lines.first?.contains("outcome=queued") == true)
            #expect(!logs.all.contains { $0.contains(token) })
        }
    }

    @Test("webhook outcomes are counted in webhook_provider_total and wa_to_app_total")
    func metrics() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming())
            _ = try await app.post("/webhook?token=bad", json: Fixture.incoming())
            let text = try await app.get("/metrics").text
            #expect(text.contains(#"webhook_provider_total{status="ok",channel="whatsapp"} 1"#))
            #expect(text.contains(#"webhook_provider_total{status="unauthorized",channel="whatsapp"} 1"#))
            #expect(text.contains(#"wa_to_app_total{event="messages.incoming",status="ok"} 1"#))
        }
    }

    @Test("event names from unauthenticated bodies never become metric labels")
    func boundedEventLabel() async throws {
        try await withTestApp { app in
            for index in 0..<3 {
                _ = try await app.post("/webhook?token=bad", json: ["event": .string("made-up-\(index)"), "tenant": 1])
            }
            let text = try await app.get("/metrics").text
            #expect(text.contains(#"wa_to_app_total{event="unknown",status="unauthorized"} 3"#))
            #expect(!text.contains("made-up"))
        }
    }

    @Test("250 concurrent webhook posts all commit without database is locked")
    func concurrentPosts() async throws {
        let path = temporaryDatabasePath()
        try await withTestApp(database: try AppDatabase(path: path)) { app in
            let token = try await app.token()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<250 {
                    group.addTask { try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: "m\(index)")).status.code }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.count == 250 && statuses.allSatisfy { $0 == 200 })
            #expect(try await app.count("webhook_events") == 250)
            #expect(try await app.count("inbox") == 250)
        }
    }
}
