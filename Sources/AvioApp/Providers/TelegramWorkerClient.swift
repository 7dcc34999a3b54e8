import AsyncHTTPClient
import Foundation

/// The Telegram worker over HTTP (`TGWORKER_BASE_URL`, `X-Admin-Token` on every call; CONTRACT §4, §6.1).
public struct TelegramWorkerClient: TelegramGateway {
    let http: WorkerHTTP

    public init(client: HTTPClient, config: AppConfig) {
        http = WorkerHTTP(client: client, baseURL: config.tgWorkerBaseURL, timeoutSeconds: config.workerTimeoutSeconds,
                          headers: config.adminToken.map { [("X-Admin-Token", $0)] } ?? [])
    }

    public func startLogin(tenant: Int64, force: Bool) async throws -> TelegramStatus {
        let answer = try await http.call(.POST, "/qr/start", json: ["tenant": .int(tenant), "force": .bool(force)]).requireSuccess()
        // Some worker versions answer /qr/start with only the new QR; read the full status when the body is thin.
        if let body = answer.body, body["state"] != nil { return Self.status(from: body) }
        var status = try await self.status(tenant: tenant)
        if let qrID = answer.body?["qr_id"]?.textValue { status.qrID = qrID }
        return status
    }

    public func status(tenant: Int64) async throws -> TelegramStatus {
        let answer = try await http.call(.GET, "/status?tenant=\(tenant)").requireSuccess()
        return Self.status(from: answer.body ?? [:])
    }

    public func qrLoginURL(tenant: Int64, qrID: String) async throws -> String? {
        let answer = try await http.call(.GET, "/session/qr/\(Self.escape(qrID)).txt")
        guard answer.status == 200, let text = String(bytes: answer.bytes, encoding: .utf8)?
            .trimmingCharacters(in: .whitespacesAndNewlines), text.hasPrefix("tg://login?token=")
        else {
            if answer.status == 404 || answer.status == 410 { _ = try answer.requireSuccess() }
            return nil
        }
        return text
    }

    public func qrPNG(tenant: Int64, qrID: String) async throws -> [UInt8] {
        try await http.call(.GET, "/qr/png?tenant=\(tenant)&qr_id=\(Self.escape(qrID))").requireSuccess().bytes
    }

    public func submitPassword(tenant: Int64, password: String) async throws -> TelegramStatus {
        let answer = try await http.call(.POST, "/2fa", json: ["tenant": .int(tenant), "password": .string(password)]).requireSuccess()
        if let body = answer.body, body["state"] != nil { return Self.status(from: body) }
        return try await status(tenant: tenant)
    }

    public func logout(tenant: Int64) async throws {
        _ = try await http.call(.POST, "/session/logout", json: ["tenant": .int(tenant), "force": true]).requireSuccess()
    }

    public func send(_ message: OutboundMessage) async throws -> DeliveryReceipt {
        let body: JSONValue = [
            "tenant": .int(message.tenant),
            "channel": "telegram",
            "to": .string(message.recipient.workerAddress),
            "text": .string(message.text ?? ""),
            "attachments": .array(message.attachments.map(\.json)),
            "meta": .object(message.meta),
        ]
        let answer = try await http.call(.POST, "/send", json: body).requireSuccess()
        return DeliveryReceipt(peerID: answer.body?["peer_id"], messageID: answer.body?["message_id"])
    }

    /// Maps the worker's status body; `raw_state:"failed"` → `failed` (§4).
    static func status(from body: JSONValue) -> TelegramStatus {
        func int(_ key: String) -> Int64? { if case .int(let value) = body[key] { value } else { nil } }
        let authorized = body["authorized"] == .bool(true)
        let needs2FA = body["needs_2fa"] == .bool(true)
        let raw = body["raw_state"]?.stringValue
        var state = body["state"]?.stringValue ?? ""
        if raw == "failed" || state == "failed" {
            state = "failed"
        } else if authorized {
            state = "authorized"
        } else if needs2FA {
            state = "need_2fa"
        } else if !["need_qr", "need_2fa", "authorized"].contains(state) {
            state = body["qr_id"]?.textValue != nil ? "need_qr" : "failed"
        }
        return TelegramStatus(
            state: state, authorized: authorized, needs2FA: needs2FA,
            qrID: body["qr_id"]?.textValue, expiresAt: int("expires_at"), lastError: body["last_error"]?.stringValue,
            authorizedCount: int("authorized_count") ?? 0, waitingCount: int("waiting_count") ?? 0,
            needs2FACount: int("needs_2fa_count") ?? 0
        )
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? text
    }
}
