import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AvioApp

/// Runs a test against the real app wired to a live fake Telegram worker.
func withTelegramApp(clock: ManualClock = ManualClock(), logs: LogRecorder = LogRecorder(),
                     _ body: @Sendable (TestContext, FakeWorker, TelegramWorkerScript) async throws -> Void) async throws {
    let script = TelegramWorkerScript()
    try await FakeWorker.with({ script.reply($0) }) { worker in
        try await withTestApp(config: .testing(tgWorkerBaseURL: worker.baseURL), clock: clock, logger: logs.logger) { app in
            try await body(app, worker, script)
        }
    }
}

@Suite("Telegram login routes (CONTRACT §4)")
struct TelegramLoginRoutesTests {
    let k = "k=test-public-key"

    @Test("the full flow: start → QR → need_2fa → bad password → authorized")
    func fullFlow() async throws {
        try await withTelegramApp { app, worker, script in
            let start = try await app.get("/pub/tg/start?tenant=1&\(k)")
            #expect(start.status == .ok)
            #expect(start.headers[.cacheControl] == "no-store")
            #expect(start.headers[HTTPField.Name("Deprecation")!] == "true")
            #expect(start.json == json(#"{"ok":true,"tenant":1,"state":"need_qr","authorized":false,"needs_2fa":false,"qr_id":"ft2bCHP6kKjs_GLGXRjcrw","qr_url":"/pub/tg/qr.png?tenant=1&qr_id=ft2bCHP6kKjs_GLGXRjcrw&k=test-public-key","expires_at":1800000060000,"last_error":null,"authorized_count":0,"waiting_count":1,"needs_2fa_count":0}"#))
            #expect(worker.requests.first?.json == json(#"{"tenant":1,"force":false}"#))

            let png = try await app.get("/pub/tg/qr.png?tenant=1&qr_id=ft2bCHP6kKjs_GLGXRjcrw&\(k)")
            #expect(png.status == .ok)
            #expect(png.headers[.contentType] == "image/png")
            #expect(png.headers[.cacheControl] == "no-store")

            script.scan()
            let waiting = try await app.get("/pub/tg/status?tenant=1&\(k)")
            #expect(waiting.json == json(#"{"ok":true,"tenant":1,"state":"need_2fa","authorized":false,"needs_2fa":true,"qr_id":null,"qr_url":null,"expires_at":null,"last_error":null,"authorized_count":0,"waiting_count":0,"needs_2fa_count":1}"#))

            let bad = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "wrong"])
            #expect(bad.status == .unauthorized)
            #expect(bad.json == json(#"{"ok":false,"error":"bad_password"}"#))

            let good = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "correct horse"])
            #expect(good.status == .ok)
            #expect(good.json["state"] == "authorized")
            #expect(good.json["authorized"] == true)

            let again = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "correct horse"])
            #expect(again.status == .conflict)
            #expect(again.json == json(#"{"ok":false,"error":"not_waiting_2fa"}"#))

            let restart = try await app.get("/pub/tg/start?tenant=1&\(k)")
            #expect(restart.status == .conflict)
            #expect(restart.json == json(#"{"ok":false,"error":"already_authorized"}"#))
            let forced = try await app.get("/pub/tg/start?tenant=1&force=1&\(k)")
            #expect(forced.status == .ok)
            #expect(worker.requests.last?.json == json(#"{"tenant":1,"force":true}"#))

            let logout = try await app.request(.post, "/pub/tg/logout?tenant=1&\(k)")
            #expect(logout.json == json(#"{"ok":true}"#))
            #expect(worker.requests.last?.path == "/session/logout")
            #expect(worker.requests.last?.json == json(#"{"tenant":1,"force":true}"#))
            #expect(worker.requests.allSatisfy { $0.header("X-Admin-Token") == "test-admin-token" })

            let metrics = try await app.get("/metrics").text
            for event in ["start", "need_2fa", "bad_password", "success"] {
                #expect(metrics.contains(#"tg_login_total{event="\#(event)"}"#))
            }
        }
    }

    @Test("the QR PNG is rendered here from the login URL and decodes to it")
    func qrDecodes() async throws {
        try await withTelegramApp { app, _, _ in
            _ = try await app.get("/pub/tg/start?tenant=1&\(k)")
            let png = try await app.get("/pub/tg/qr.png?tenant=1&qr_id=ft2bCHP6kKjs_GLGXRjcrw&\(k)")
            #expect(try QRDecoder.decode(png: Array(png.body.readableBytesView)) == TelegramWorkerScript.loginURL)
        }
    }

    @Test("an expired QR is failed in status and 410 on qr.png")
    func expiry() async throws {
        let clock = ManualClock()
        try await withTelegramApp(clock: clock) { app, _, _ in
            _ = try await app.get("/pub/tg/start?tenant=1&\(k)")
            clock.advance(by: 61)
            let status = try await app.get("/pub/tg/status?tenant=1&\(k)")
            #expect(status.json["state"] == "failed")
            #expect(status.json["last_error"] == "qr_expired")
            #expect(status.json["qr_url"] == .null)
            let png = try await app.get("/pub/tg/qr.png?tenant=1&qr_id=ft2bCHP6kKjs_GLGXRjcrw&\(k)")
            #expect(png.status == .gone)
            #expect(png.json == json(#"{"ok":false,"error":"qr_expired"}"#))
        }
    }

    @Test("the worker's raw_state failed maps to failed")
    func rawFailed() async throws {
        try await withTelegramApp { app, _, script in
            script.state.withLock { $0.rawState = "failed"; $0.lastError = "qr_login_timeout" }
            let status = try await app.get("/pub/tg/status?tenant=1&\(k)")
            #expect(status.json["state"] == "failed")
            #expect(status.json["last_error"] == "qr_login_timeout")
        }
    }

    @Test("qr.png errors: missing qr_id 400, unknown id 404")
    func qrErrors() async throws {
        try await withTelegramApp { app, _, _ in
            let missing = try await app.get("/pub/tg/qr.png?tenant=1&\(k)")
            #expect(missing.status == .badRequest)
            #expect(missing.json == json(#"{"ok":false,"error":"missing_qr_id"}"#))
            _ = try await app.get("/pub/tg/start?tenant=1&\(k)")
            let unknown = try await app.get("/pub/tg/qr.png?tenant=1&qr_id=someone-elses&\(k)")
            #expect(unknown.status == .notFound)
            #expect(unknown.json == json(#"{"ok":false,"error":"qr_not_found"}"#))
        }
    }

    @Test("a worker that is down is 502 tg_unavailable on every route")
    func workerDown() async throws {
        try await withTestApp(config: .testing(tgWorkerBaseURL: URL(string: "http://127.0.0.1:9")!)) { app in
            for (method, uri) in [(HTTPRequest.Method.get, "/pub/tg/start?tenant=1&\(k)"), (.get, "/pub/tg/status?tenant=1&\(k)"),
                                  (.get, "/pub/tg/qr.png?tenant=1&qr_id=x&\(k)"), (.post, "/pub/tg/logout?tenant=1&\(k)")] {
                let response = try await app.request(method, uri)
                #expect(response.status == .badGateway)
                #expect(response.json == json(#"{"ok":false,"error":"tg_unavailable"}"#))
            }
            let twoFA = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "x"])
            #expect(twoFA.json == json(#"{"ok":false,"error":"tg_unavailable"}"#))
        }
    }

    @Test("2FA allows 5 attempts a minute per tenant, then 429 too_many_attempts with Retry-After")
    func twoFALimit() async throws {
        let clock = ManualClock()
        let logs = LogRecorder()
        try await withTelegramApp(clock: clock, logs: logs) { app, worker, script in
            script.state.withLock { $0.rawState = "waiting_2fa" }
            for _ in 0..<5 {
                #expect(try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "guess-secret-xyz"]).status == .unauthorized)
            }
            let limited = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "guess-secret-xyz"])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.json == json(#"{"ok":false,"error":"too_many_attempts","retry_after":60}"#))
            #expect(limited.headers[.retryAfter] == "60")
            #expect(worker.requests.filter { $0.path == "/2fa" }.count == 5)
            let otherTenant = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 2, "password": "guess-secret-xyz"])
            #expect(otherTenant.status == .unauthorized)
            clock.advance(by: 60)
            #expect(try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1, "password": "guess-secret-xyz"]).status == .unauthorized)
            let metrics = try await app.get("/metrics").text
            #expect(!metrics.contains("guess-secret-xyz"))
        }
        #expect(!logs.all.contains { $0.contains("guess-secret-xyz") })
    }

    @Test("2FA validates its body")
    func twoFABody() async throws {
        try await withTelegramApp { app, worker, _ in
            let noPassword = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": 1])
            #expect(noPassword.json == json(#"{"ok":false,"error":"invalid_payload","detail":"password"}"#))
            let badTenant = try await app.post("/pub/tg/2fa?\(k)", json: ["tenant": "abc", "password": "x"])
            #expect(badTenant.json == json(#"{"ok":false,"error":"invalid_tenant"}"#))
            let noKey = try await app.post("/pub/tg/2fa", json: ["tenant": 1, "password": "x"])
            #expect(noKey.status == .unauthorized)
            #expect(noKey.json == json(#"{"ok":false,"error":"invalid_key"}"#))
            #expect(noKey.headers[.cacheControl] == "no-store")
            #expect(worker.requests.isEmpty)
        }
    }

    @Test("each /pub/tg route logs its deprecation at most once an hour")
    func deprecationLog() async throws {
        let clock = ManualClock()
        let logs = LogRecorder()
        try await withTelegramApp(clock: clock, logs: logs) { app, _, _ in
            for _ in 0..<3 { _ = try await app.get("/pub/tg/status?tenant=1&\(k)") }
            _ = try await app.get("/pub/tg/start?tenant=1&\(k)")
            #expect(logs.lines(containing: "deprecated route", "/pub/tg/status").count == 1)
            #expect(logs.lines(containing: "deprecated route", "/pub/tg/start").count == 1)
            clock.advance(by: 3601)
            _ = try await app.get("/pub/tg/status?tenant=1&\(k)")
            #expect(logs.lines(containing: "deprecated route", "/pub/tg/status").count == 2)
        }
    }
}
