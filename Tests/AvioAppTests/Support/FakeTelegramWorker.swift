import Foundation
import Synchronization

@testable import AvioApp

/// The Telegram worker's login state machine, scripted for tests: need_qr → need_2fa → authorized, expiry, logout.
final class TelegramWorkerScript: Sendable {
    struct State: Sendable {
        var rawState = "idle"
        var qrID: String?
        var expiresAt: Int64?
        var needs2FA = true
        var password = "correct horse"
        var lastError: String?
    }

    let state = Mutex(State())
    static let loginURL = "tg://login?token=AQAAAABnSlt3xKOKc2S0pDF0Zl9xXW1hzGxu1J3tUOmNQZ8xwg"
    /// Epoch ms of the ManualClock's default start.
    static let start: Int64 = 1_800_000_000_000

    /// The worker's status body.
    func statusBody(tenant: Int64) -> JSONValue {
        state.withLock { s in
            let public_: String = switch s.rawState {
            case "waiting_qr": "need_qr"
            case "waiting_2fa": "need_2fa"
            case "authorized": "authorized"
            case "failed": "failed"
            default: "need_qr"
            }
            return [
                "ok": true, "tenant": .int(tenant), "authorized": .bool(s.rawState == "authorized"), "state": .string(public_),
                "raw_state": .string(s.rawState), "needs_2fa": .bool(s.rawState == "waiting_2fa"), "qr_id": .string(s.qrID),
                "expires_at": .int(s.expiresAt), "last_error": .string(s.lastError),
                "authorized_count": .int(s.rawState == "authorized" ? 1 : 0), "waiting_count": .int(s.rawState == "waiting_qr" ? 1 : 0),
                "needs_2fa_count": .int(s.rawState == "waiting_2fa" ? 1 : 0),
            ]
        }
    }

    /// Simulates the user scanning the QR in the Telegram app.
    func scan() { state.withLock { $0.rawState = $0.needs2FA ? "waiting_2fa" : "authorized"; $0.qrID = nil } }

    /// Answers one worker request.
    func reply(_ request: RecordedRequest) -> FakeReply {
        let tenant: Int64 = request.json?["tenant"].flatMap { if case .int(let t) = $0 { t } else { nil } }
            ?? Int64(request.query.split(separator: "&").first { $0.hasPrefix("tenant=") }?.dropFirst(7) ?? "") ?? 0
        switch (request.method, request.path) {
        case ("POST", "/qr/start"):
            let force = request.json?["force"] == .bool(true)
            let authorized = state.withLock { $0.rawState == "authorized" }
            if authorized, !force { return .error(409, "already_authorized") }
            state.withLock {
                $0.rawState = "waiting_qr"
                $0.qrID = "ft2bCHP6kKjs_GLGXRjcrw"
                $0.expiresAt = Self.start + 60_000
                $0.lastError = nil
            }
            return .ok(statusBody(tenant: tenant))
        case ("GET", "/status"):
            return .ok(statusBody(tenant: tenant))
        case ("GET", let path) where path.hasPrefix("/session/qr/"):
            let id = path.dropFirst("/session/qr/".count).replacingOccurrences(of: ".txt", with: "")
            guard state.withLock({ $0.qrID }) == id else { return .error(404, "qr_not_found") }
            return FakeReply(bytes: Array(Self.loginURL.utf8), headers: ["Content-Type": "text/plain"])
        case ("GET", "/qr/png"):
            guard let current = state.withLock({ $0.qrID }), request.query.contains("qr_id=\(current)") else { return .error(404, "qr_not_found") }
            return FakeReply(bytes: QRCode("tg://login?token=fallback")!.png(), headers: ["Content-Type": "image/png"])
        case ("POST", "/2fa"):
            let (waiting, password) = state.withLock { ($0.rawState == "waiting_2fa", $0.password) }
            guard waiting else { return .error(409, "not_waiting_2fa") }
            guard request.json?["password"]?.stringValue == password else { return .error(401, "bad_password") }
            state.withLock { $0.rawState = "authorized" }
            return .ok(statusBody(tenant: tenant))
        case ("POST", "/session/logout"):
            state.withLock { $0 = State() }
            return .ok()
        default:
            return .error(404, "not_found")
        }
    }
}
