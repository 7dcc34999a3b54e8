import HTTPTypes
import Hummingbird
import Testing

@testable import AvioApp

@Suite("Provider token routes (CONTRACT §3)")
struct ProviderTokenRoutesTests {
    let gateway = NoopWhatsApp()

    @Test("ensure creates a token once and returns the same token afterwards")
    func ensureIsStable() async throws {
        try await withTestApp(whatsapp: gateway) { app in
            let headers: HTTPFields = [HTTPField.Name("X-Auth-Token")!: "test-waweb-token"]
            let first = try await app.request(.post, "/internal/tenant/7/ensure", headers: headers, body: #"{"source":"waweb"}"#)
            #expect(first.status == .ok)
            let token = try #require(first.json["provider_token"]?.stringValue)
            #expect(first.json == ["ok": true, "tenant": 7, "provider_token": .string(token)])
            #expect(token.count >= 43)
            let second = try await app.request(.post, "/internal/tenant/7/ensure?token=test-waweb-token")
            #expect(second.json == ["ok": true, "tenant": 7, "provider_token": .string(token)])
        }
    }

    @Test("ensure refuses a wrong or missing internal token")
    func ensureAuth() async throws {
        try await withTestApp(whatsapp: gateway) { app in
            for headers: HTTPFields in [[:], [HTTPField.Name("X-Auth-Token")!: "nope"], [HTTPField.Name("X-Admin-Token")!: "test-admin-token"]] {
                let response = try await app.request(.post, "/internal/tenant/7/ensure", headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.json == json(#"{"ok":false,"error":"unauthorized"}"#))
            }
        }
    }

    @Test("ensure rejects a tenant that is not a positive integer", arguments: ["0", "-1", "abc", "1.5", "99999999999999999999"])
    func ensureInvalidTenant(tenant: String) async throws {
        try await withTestApp(whatsapp: gateway) { app in
            let response = try await app.request(.post, "/internal/tenant/\(tenant)/ensure?token=test-waweb-token")
            #expect(response.status == .badRequest)
            #expect(response.json == json(#"{"ok":false,"error":"invalid_tenant"}"#))
        }
    }

    @Test("ensure answers 400 invalid_json to a malformed body and stores nothing")
    func ensureMalformedBody() async throws {
        try await withTestApp(whatsapp: gateway) { app in
            let response = try await app.request(.post, "/internal/tenant/7/ensure?token=test-waweb-token", body: "{nope")
            #expect(response.status == .badRequest)
            #expect(response.json == json(#"{"ok":false,"error":"invalid_json"}"#))
            #expect(try await app.database.providerToken(tenant: 7) == nil)
        }
    }

    @Test("the admin route creates, lists and rotates tokens")
    func adminLifecycle() async throws {
        try await withTestApp(whatsapp: gateway) { app in
            let missing = try await app.get("/admin/keys/list?tenant=3", headers: app.admin)
            #expect(missing.status == .notFound)
            #expect(missing.json == json(#"{"ok":false,"error":"not_found"}"#))

            let created = try await app.get("/admin/provider-token/3", headers: app.admin)
            #expect(created.status == .ok)
            let token = try #require(created.json["provider_token"]?.stringValue)
            let createdAt = try #require(created.json["created_at"]?.stringValue)
            #expect(created.json == ["ok": true, "tenant": 3, "provider_token": .string(token), "created_at": .string(createdAt)])
            #expect(createdAt.hasSuffix("Z") && createdAt.contains("T"))

            let listed = try await app.get("/admin/keys/list?tenant=3", headers: app.admin)
            #expect(listed.json == created.json)

            let rotated = try await app.request(.post, "/admin/provider-token/3/rotate", headers: app.admin)
            #expect(rotated.status == .ok)
            let newToken = try #require(rotated.json["provider_token"]?.stringValue)
            #expect(newToken != token)
            #expect(try await app.database.providerToken(tenant: 3)?.token == newToken)

            let all = try await app.get("/admin/keys/list", headers: app.admin)
            #expect(all.json["items"]?.arrayValue?.count == 1)
        }
    }

    @Test("admin token routes refuse missing and wrong tokens", arguments: [
        (HTTPRequest.Method.get, "/admin/provider-token/3"), (.post, "/admin/provider-token/3/rotate"), (.get, "/admin/keys/list?tenant=3"),
        (.post, "/send"), (.get, "/admin/leads"), (.get, "/admin/inbox"), (.get, "/admin/outbox"), (.get, "/admin/outbox/1"),
        (.get, "/admin/webhook-events"), (.get, "/admin/leads/1/messages"),
    ])
    func adminAuth(method: HTTPRequest.Method, path: String) async throws {
        try await withTestApp(whatsapp: gateway) { app in
            for headers: HTTPFields in [[:], [HTTPField.Name("X-Admin-Token")!: "wrong"], [HTTPField.Name("X-Admin-Token")!: ""],
                                        [HTTPField.Name("X-Auth-Token")!: "test-admin-token"]] {
                let response = try await app.request(method, path, headers: headers, body: "{}")
                #expect(response.status == .unauthorized)
                #expect(response.json == json(#"{"ok":false,"error":"unauthorized"}"#))
            }
        }
    }

    @Test("an unset admin token opens nothing, not even with an empty header")
    func emptySecretNeverOpens() async throws {
        try await withTestApp(config: .testing(publicKey: nil, adminToken: nil, waWebToken: nil), whatsapp: gateway) { app in
            let admin = try await app.get("/admin/provider-token/3", headers: [HTTPField.Name("X-Admin-Token")!: ""])
            #expect(admin.status == .unauthorized)
            let internalRoute = try await app.request(.post, "/internal/tenant/3/ensure?token=")
            #expect(internalRoute.status == .unauthorized)
            let pub = try await app.get("/pub/wa/status?tenant=1&k=")
            #expect(pub.status == .unauthorized)
            #expect(pub.json == json(#"{"ok":false,"error":"invalid_key"}"#))
        }
    }

    @Test("tokens survive an application restart on the same file")
    func tokensSurviveRestart() async throws {
        let path = temporaryDatabasePath()
        let first = try await withTestApp(database: try AppDatabase(path: path), whatsapp: gateway) { app in
            try await app.get("/admin/provider-token/9", headers: app.admin).json["provider_token"]
        }
        let second = try await withTestApp(database: try AppDatabase(path: path), whatsapp: gateway) { app in
            try await app.get("/admin/keys/list?tenant=9", headers: app.admin).json["provider_token"]
        }
        #expect(first != nil && first == second)
    }
}

/// A WhatsApp gateway that accepts session starts and counts them (provider-token creation triggers one).
struct NoopWhatsApp: WhatsAppGateway {
    func startSession(tenant: Int64) async throws {}
    func send(_ message: OutboundMessage) async throws -> DeliveryReceipt { DeliveryReceipt() }
}
