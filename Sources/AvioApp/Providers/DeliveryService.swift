import Foundation
import HTTPTypes
import Logging

/// The outbound pipeline shared by `POST /send` and the outbox worker (CONTRACT §6): guards in the contract's order,
/// delivery through the right gateway, normalized answers, and a `messages` row for every attempt.
public struct DeliveryService: Sendable {
    let config: AppConfig
    let database: AppDatabase
    let telegram: any TelegramGateway
    let whatsapp: any WhatsAppGateway
    let metrics: AppMetrics
    let clock: any AppClock

    /// The normalized answer of one send: HTTP status and body (`{"ok":true,…}` or the error shape).
    public struct Answer: Sendable, Equatable, Error {
        public var status: HTTPResponse.Status
        public var body: JSONValue
        /// For the outbox: `sent`, `skipped` or `failed`.
        public var outcome: String
        /// Why it was skipped/failed (`outbox_disabled`, `not_whitelisted`, `err:no_lead`, the worker code).
        public var reason: String?
        /// True when another attempt may succeed (429, 5xx, unreachable, timeout).
        public var retryable: Bool
    }

    /// Applies the guards after schema validation: `OUTBOX_ENABLED` → recipient → whitelist → lead.
    /// Returns the message ready for a gateway, or the refusal.
    func check(_ message: TransportMessage) async throws -> Result<OutboundMessage, Answer> {
        guard config.outboxEnabled else { return .failure(refusal(.outboxDisabled, outcome: "skipped")) }
        guard let recipient = Recipient(channel: message.channel, to: message.to) else {
            return .failure(refusal(.invalidTo, outcome: "skipped"))
        }
        guard config.outboxWhitelist.allows(recipient) else { return .failure(refusal(.notWhitelisted, outcome: "skipped")) }
        if let lead = message.leadID, try await !database.leadExists(id: lead, tenant: message.tenant) {
            var answer = refusal(APIError(.notFound, "no_lead"), outcome: "failed")
            answer.reason = "err:no_lead"
            return .failure(answer)
        }
        let attachments = message.attachments.map { item in
            var item = item
            item.url = absolute(item.url)
            return item
        }
        return .success(OutboundMessage(tenant: message.tenant, channel: message.channel, recipient: recipient,
                                        text: message.text, attachments: attachments, meta: message.meta))
    }

    /// Runs guards and delivery, records the attempt in `messages`, and returns the normalized answer.
    public func send(_ message: TransportMessage, logger: Logger) async throws -> Answer {
        let answer: Answer
        var recipient = Recipient(channel: message.channel, to: message.to)
        switch try await check(message) {
        case .failure(let refused):
            answer = refused
        case .success(let outbound):
            recipient = outbound.recipient
            answer = await deliver(outbound)
        }
        try await recordAttempt(message, recipient: recipient, answer: answer)
        var metadata: Logger.Metadata = ["tenant": "\(message.tenant)", "channel": "\(message.channel.rawValue)",
                                         "status": "\(answer.outcome)", "http": "\(answer.status.code)"]
        if let reason = answer.reason { metadata["reason"] = "\(reason)" }
        logger.log(level: answer.outcome == "sent" ? .info : .notice, "send", metadata: metadata)
        return answer
    }

    /// Counts the attempt and stores it in `messages` under the contact's lead (or `meta.lead_id`). Attempts without a
    /// valid recipient, or refused for a missing lead, have no contact to file them under and are only counted.
    func recordAttempt(_ message: TransportMessage, recipient: Recipient?, answer: Answer) async throws {
        metrics.messagesOut(channel: message.channel.rawValue, status: answer.outcome)
        guard let recipient, answer.reason != "err:no_lead" else { return }
        try await record(message, recipient: recipient, answer: answer)
    }

    /// Calls the channel's gateway and normalizes what comes back.
    func deliver(_ message: OutboundMessage) async -> Answer {
        do {
            let receipt = switch message.channel {
            case .telegram: try await telegram.send(message)
            case .whatsapp: try await whatsapp.send(message)
            }
            var body: [String: JSONValue] = ["ok": true, "channel": .string(message.channel.rawValue),
                                             "to": .string(message.recipient.workerAddress)]
            if let peer = receipt.peerID, !peer.isNull { body["peer_id"] = peer }
            if let id = receipt.messageID, !id.isNull { body["message_id"] = id }
            return Answer(status: .ok, body: .object(body), outcome: "sent", reason: nil, retryable: false)
        } catch let error as GatewayError {
            let (apiError, retryable) = Self.normalize(error, channel: message.channel)
            metrics.gatewayError(provider: message.channel.rawValue, code: apiError.code)
            var answer = refusal(apiError, outcome: "failed")
            answer.retryable = retryable
            return answer
        } catch {
            return refusal(.workerUnreachable, outcome: "failed", retryable: true)
        }
    }

    /// Worker answers → our codes (§6.1). Never passes a worker body through: only its error code.
    static func normalize(_ error: GatewayError, channel: Channel) -> (APIError, retryable: Bool) {
        switch error {
        case .unreachable: return (.workerUnreachable, true)
        case .timeout: return (APIError(.gatewayTimeout, "worker_timeout"), true)
        case .rejected(let status, let code, let retryAfter, let reauth):
            if reauth || code == "not_authorized" || (channel == .telegram && status == 401) { return (.reloginRequired, false) }
            switch status {
            case 429:
                let seconds = retryAfter ?? 1
                return (APIError(.tooManyRequests, code == "http_429" ? "flood_wait" : code, extra: ["retry_after": .int(Int64(seconds))],
                                 headers: [.retryAfter: String(seconds)]), true)
            case 500...: return (APIError(.badGateway, code == "http_\(status)" ? "worker_error" : code), true)
            case 401 where channel == .whatsapp, 403 where channel == .whatsapp: return (APIError(.badGateway, "worker_unauthorized"), false)
            case 404 where channel == .whatsapp: return (APIError(.conflict, code == "http_404" ? "no_session" : code), false)
            case 400, 422: return (APIError(.unprocessableContent, code == "http_\(status)" ? "rejected_by_worker" : code), false)
            default: return (APIError(HTTPResponse.Status(code: (400...499).contains(status) ? status : 502), code), false)
            }
        }
    }

    private func refusal(_ error: APIError, outcome: String, retryable: Bool = false) -> Answer {
        Answer(status: error.status, body: error.body, outcome: outcome, reason: error.code, retryable: retryable)
    }

    private func record(_ message: TransportMessage, recipient: Recipient, answer: Answer) async throws {
        let phone: String? = if case .whatsappPhone(let digits) = recipient { digits } else { nil }
        let username: String? = if case .telegramUsername(let name) = recipient { name } else { nil }
        let contact = ContactInfo(tenant: message.tenant, channel: message.channel, externalID: recipient.externalID,
                                  phone: phone, username: username, name: nil)
        let providerID = answer.body["message_id"]?.textValue.map { "out:\($0)" }
        let record = MessageRecord(direction: "out", text: message.text, media: message.attachments.map(\.json),
                                   providerMessageID: providerID, status: answer.outcome,
                                   error: answer.outcome == "sent" ? nil : answer.reason, ts: clock.now())
        try await database.recordOutbound(contact: contact, message: record, leadID: message.leadID, now: clock.now())
    }

    /// Relative attachment URLs are made absolute with `APP_BASE_URL` (§1).
    func absolute(_ url: String) -> String {
        if url.contains("://") { return url }
        let base = config.appBaseURL.absoluteString.hasSuffix("/") ? String(config.appBaseURL.absoluteString.dropLast())
            : config.appBaseURL.absoluteString
        return base + (url.hasPrefix("/") ? url : "/" + url)
    }
}
