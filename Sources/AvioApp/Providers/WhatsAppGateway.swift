import AsyncHTTPClient
import Foundation

/// Everything Avio asks of WhatsApp. Routes and workers see only this protocol (STYLE §7).
public protocol WhatsAppGateway: Sendable {
    /// Asks the worker to start (or resume) the tenant's session: `POST /session/{tenant}/start`.
    func startSession(tenant: Int64) async throws
    /// Delivers one message: `POST /send`.
    func send(_ message: OutboundMessage) async throws -> DeliveryReceipt
}

/// The WhatsApp worker over HTTP (`WAWEB_BASE_URL`, header `X-Auth-Token`).
public struct WhatsAppWorkerClient: WhatsAppGateway {
    let http: WorkerHTTP

    public init(client: HTTPClient, config: AppConfig) {
        http = WorkerHTTP(client: client, baseURL: config.wawebBaseURL, timeoutSeconds: config.workerTimeoutSeconds,
                          headers: config.waWebToken.map { [("X-Auth-Token", $0)] } ?? config.internalToken.map { [("X-Auth-Token", $0)] } ?? [])
    }

    public func startSession(tenant: Int64) async throws {
        _ = try await http.call(.POST, "/session/\(tenant)/start", json: [:]).requireSuccess()
    }

    public func send(_ message: OutboundMessage) async throws -> DeliveryReceipt {
        let body: JSONValue = [
            "tenant": .int(message.tenant),
            "channel": "whatsapp",
            "to": .string(message.recipient.workerAddress),
            "text": .string(message.text ?? ""),
            "attachments": .array(message.attachments.map(\.json)),
        ]
        let answer = try await http.call(.POST, "/send", json: body).requireSuccess()
        return DeliveryReceipt(messageID: answer.body?["message_id"] ?? answer.body?["id"])
    }
}

extension OutboundMessage.Attachment {
    var json: JSONValue {
        var fields: [String: JSONValue] = ["type": .string(type), "url": .string(url)]
        if let name { fields["name"] = .string(name) }
        if let mime { fields["mime"] = .string(mime) }
        return .object(fields)
    }
}
