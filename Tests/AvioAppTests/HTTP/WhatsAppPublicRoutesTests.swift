import Foundation
import HTTPTypes
import Hummingbird
import GRDB
import Logging
import Testing

@testable import AvioApp

@Suite("WhatsApp public routes and QR cache (CONTRACT §5.4)")
struct WhatsAppPublicRoutesTests {
    @Test("status is disconnected before anything happened")
    func initialStatus() async throws {
        try await withTestApp(whatsapp: UnexpectedGateway()) { app in
            let response = try await app.get("/pub/wa/status?tenant=1&k=test-public-key")
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(response.json == json(#"{"ok":true,"tenant":1,"state":"disconnected","ready":false,"qr_id":null,"qr_url":null}"#))
        }
    }

    @Test("a cached QR is served as SVG and named in the status")
    func qrServed() async throws {
        try await withTestApp(whatsapp: UnexpectedGateway()) { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.qr(id: "Q1"))
            let status = try await app.get("/pub/wa/status?tenant=1&k=test-public-key")
            #expect(status.json == json(#"{"ok":true,"tenant":1,"state":"qr","ready":false,"qr_id":"Q1","qr_url":"/pub/wa/qr.svg?tenant=1&qr_id=Q1&k=test-public-key"}"#))
            for uri in ["/pub/wa/qr.svg?tenant=1&k=test-public-key", "/pub/wa/qr.svg?tenant=1&qr_id=Q1&k=test-public-key"] {
                let svg = try await app.get(uri)
                #expect(svg.status == .ok)
                #expect(svg.headers[.contentType] == "image/svg+xml")
                #expect(svg.headers[.cacheControl] == "no-store")
                #expect(svg.text.hasPrefix("<svg"))
            }
            let other = try await app.get("/pub/wa/qr.svg?tenant=2&qr_id=Q1&k=test-public-key")
            #expect(other.status == .notFound)
            #expect(other.json == json(#"{"ok":false,"error":"qr_not_found"}"#))
            #expect(other.headers[.cacheControl] == "no-store")
        }
    }

    @Test("QR codes expire after the TTL on the injected clock")
    func qrExpires() async throws {
        let clock = ManualClock()
        try await withTestApp(whatsapp: UnexpectedGateway(), clock: clock) { app in
            let token = try await app.token()
            _ = try await app.post("/webhook?token=\(token)", json: Fixture.qr(id: "Q1"))
            clock.advance(by: 179)
            #expect(try await app.get("/pub/wa/qr.svg?tenant=1&k=test-public-key").status == .ok)
            clock.advance(by: 2)
            #expect(try await app.get("/pub/wa/qr.svg?tenant=1&k=test-public-key").status == .notFound)
            #expect(try await app.get("/pub/wa/status?tenant=1&k=test-public-key").json["state"] == "starting")
        }
    }

    @Test("an unexpected storage failure is a bare 500 internal_error, still no-store, with no SQL in the answer")
    func unexpectedFailure() async throws {
        try await withTestApp(whatsapp: UnexpectedGateway()) { app in
            try await app.database.writer.write { db in try db.execute(sql: "DROP TABLE wa_sessions") }
            let response = try await app.get("/pub/wa/status?tenant=1&k=test-public-key")
            #expect(response.status == .internalServerError)
            #expect(response.json == json(#"{"ok":false,"error":"internal_error"}"#))
            #expect(response.headers[.cacheControl] == "no-store")
        }
    }

    @Test("public routes accept only ?k=, never headers, and need a tenant")
    func publicAuth() async throws {
        try await withTestApp(whatsapp: UnexpectedGateway()) { app in
            for (uri, headers) in [("/pub/wa/status?tenant=1", HTTPFields()), ("/pub/wa/status?tenant=1&k=wrong", [:]),
                                   ("/pub/wa/status?tenant=1&k=test-admin-token", [:]),
                                   ("/pub/wa/status?tenant=1", [HTTPField.Name("X-Admin-Token")!: "test-admin-token"])] {
                let response = try await app.get(uri, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.json == json(#"{"ok":false,"error":"invalid_key"}"#))
            }
            let noTenant = try await app.get("/pub/wa/status?k=test-public-key")
            #expect(noTenant.status == .badRequest)
            #expect(noTenant.json == json(#"{"ok":false,"error":"invalid_tenant"}"#))
        }
    }

    @Test("without PUBLIC_KEY the admin token works as k (compatibility mode)")
    func compatibilityMode() async throws {
        try await withTestApp(config: .testing(publicKey: nil), whatsapp: UnexpectedGateway()) { app in
            let response = try await app.get("/pub/wa/status?tenant=1&k=test-admin-token")
            #expect(response.status == .ok)
        }
    }

    @Test("start asks the worker with X-Auth-Token and reports starting")
    func startCallsWorker() async throws {
        try await FakeWorker.with { worker in
            let config = AppConfig.testing(wawebBaseURL: worker.baseURL)
            try await withTestApp(config: config) { app in
                for method in [HTTPRequest.Method.post, .get] {
                    let response = try await app.request(method, "/pub/wa/start?tenant=4&k=test-public-key")
                    #expect(response.status == .ok)
                    #expect(response.json == json(#"{"ok":true,"tenant":4,"state":"starting","ready":false,"qr_id":null,"qr_url":null}"#))
                }
            }
            let request = try #require(worker.requests.first)
            #expect(request.method == "POST")
            #expect(request.path == "/session/4/start")
            #expect(request.header("X-Auth-Token") == "test-waweb-token")
        }
    }

    @Test("start answers 502 wa_unavailable when the worker is down or refuses")
    func startWorkerDown() async throws {
        try await withTestApp(config: .testing(wawebBaseURL: URL(string: "http://127.0.0.1:9")!)) { app in
            let response = try await app.request(.post, "/pub/wa/start?tenant=4&k=test-public-key")
            #expect(response.status == .badGateway)
            #expect(response.json == json(#"{"ok":false,"error":"wa_unavailable"}"#))
        }
        try await FakeWorker.with({ _ in .error(500, "boom") }) { worker in
            try await withTestApp(config: .testing(wawebBaseURL: worker.baseURL)) { app in
                let response = try await app.request(.post, "/pub/wa/start?tenant=4&k=test-public-key")
                #expect(response.json == json(#"{"ok":false,"error":"wa_unavailable"}"#))
            }
        }
    }

    @Test("the session resumer starts every tenant with a token and retries an unreachable worker")
    func resumer() async throws {
        try await FakeWorker.with({ request in request.path == "/session/2/start" ? .error(503, "busy") : .ok() }) { worker in
            let config = AppConfig.testing(wawebBaseURL: worker.baseURL)
            let database = try AppDatabase(path: ":memory:")
            _ = try await database.ensureProviderToken(tenant: 1, now: Date())
            _ = try await database.ensureProviderToken(tenant: 2, now: Date())
            let resumer = SessionResumer(database: database, whatsapp: WhatsAppWorkerClient(client: sharedHTTPClient, config: config),
                                         logger: Logger(label: "test"), firstDelay: .milliseconds(20), maximumDelay: .milliseconds(40))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await resumer.run() }
                resumer.resume(tenant: 3)
                for _ in 0..<200 where worker.requests.filter({ $0.path == "/session/2/start" }).count < 3
                    || !worker.requests.contains(where: { $0.path == "/session/3/start" }) {
                    try await Task.sleep(for: .milliseconds(10))
                }
                group.cancelAll()
            }
            let paths = worker.requests.map(\.path)
            #expect(paths.filter { $0 == "/session/1/start" }.count == 1)
            #expect(paths.filter { $0 == "/session/2/start" }.count >= 3)
            #expect(paths.contains("/session/3/start"))
            #expect(worker.requests.allSatisfy { $0.header("X-Auth-Token") == "test-waweb-token" })
        }
    }
}
