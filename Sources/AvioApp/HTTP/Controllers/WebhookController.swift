import Hummingbird
import Logging

/// `POST /webhook` (CONTRACT §5): authenticates by provider token, validates, and commits before answering.
struct WebhookController: Sendable {
    let database: AppDatabase
    let ingestor: WebhookIngestor
    let waStore: WhatsAppQRStore
    let config: AppConfig
    let metrics: AppMetrics

    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        var channel = "unknown"
        var eventName = "unknown"
        do {
            let (body, text) = try await request.jsonBodyWithText()
            guard body.objectValue != nil else { throw APIError.invalidPayload("body") }
            channel = Self.channelLabel(body)
            eventName = Self.eventLabel(body)
            guard let tenant = TenantID.parse(body["tenant"]) else { throw APIError.invalidTenantInBody }
            context.notes.set("tenant", String(tenant))
            context.notes.set("event", eventName)
            try await authenticate(request, tenant: tenant, body: body)
            let event = try WebhookEvent.parse(body, tenant: tenant)
            let response = try await accept(event, body: text, context: context)
            return response
        } catch let error as APIError {
            count(status: error.code, channel: channel, event: eventName)
            throw error
        }
    }

    /// §2.4: `?token=` or `X-Provider-Token` equal to the tenant's token; for Telegram-worker payloads also
    /// `X-Admin-Token` equal to `ADMIN_TOKEN`.
    private func authenticate(_ request: Request, tenant: Int64, body: JSONValue) async throws {
        if WebhookEvent.isTelegramWorkerPayload(body), Secrets.matches(request.header("X-Admin-Token"), expected: config.adminToken) {
            return
        }
        let presented = [request.uri.queryParameters.get("token"), request.header("X-Provider-Token")].compactMap { $0 }
        guard !presented.isEmpty else { throw APIError.unauthorized }
        let expected: String?
        do {
            expected = try await database.providerToken(tenant: tenant)?.token
        } catch {
            throw APIError.unavailable
        }
        guard presented.contains(where: { Secrets.matches($0, expected: expected) }) else { throw APIError.unauthorized }
    }

    private func accept(_ event: WebhookEvent, body: String, context: AppRequestContext) async throws -> Response {
        switch event {
        case .qr(let tenant, let qrID, let svg):
            await waStore.storeQR(tenant: tenant, qrID: qrID, svg: svg)
            count(status: "ok", channel: "whatsapp", event: "qr")
            context.logger.info("whatsapp qr cached", metadata: ["tenant": "\(tenant)", "qr_id": "\(qrID.prefix(64))"])
            return JSONResponse.make(["ok": true, "queued": false, "event": "qr"])
        case .message(let message):
            return try await commit(InboundEnvelope(tenant: message.tenant, channel: message.channel.rawValue, event: event.name,
                                                    messageID: message.messageID, payload: body), context: context)
        case .ready(let tenant, _, _):
            let response = try await commit(InboundEnvelope(tenant: tenant, channel: "whatsapp", event: event.name, messageID: nil,
                                                            payload: body), context: context)
            await waStore.setState(.ready, tenant: tenant)
            return response
        }
    }

    /// §5.2: answers only after the event and its inbox job are committed.
    private func commit(_ envelope: InboundEnvelope, context: AppRequestContext) async throws -> Response {
        let outcome: IngestOutcome
        do {
            outcome = try await ingestor.ingest(envelope)
        } catch {
            context.logger.error("webhook not stored", metadata: ["tenant": "\(envelope.tenant)", "error": "\(error)"])
            throw APIError.unavailable
        }
        context.notes.set("outcome", outcome == .duplicate ? "duplicate" : "queued")
        switch outcome {
        case .queued:
            count(status: "ok", channel: envelope.channel, event: envelope.event)
            return JSONResponse.make(["ok": true, "queued": true])
        case .duplicate:
            count(status: "duplicate", channel: envelope.channel, event: envelope.event)
            return JSONResponse.make(["ok": true, "queued": false, "duplicate": true])
        }
    }

    private func count(status: String, channel: String, event: String) {
        metrics.webhook(status: status, channel: channel)
        if channel == "whatsapp" { metrics.waToApp(event: event, status: status) }
    }

    /// A bounded label: known events only (the body is not authenticated yet), so metrics and logs cannot be flooded
    /// with made-up values.
    static func eventLabel(_ body: JSONValue) -> String {
        if WebhookEvent.isTelegramWorkerPayload(body) { return "telegram" }
        guard let name = body["event"]?.stringValue else { return "unknown" }
        return ["messages.incoming", "qr", "ready"].contains(name) ? name : "unknown"
    }

    /// A bounded label: known channels only, so metrics cannot be flooded with made-up values.
    static func channelLabel(_ body: JSONValue) -> String {
        if WebhookEvent.isTelegramWorkerPayload(body) { return "telegram" }
        let name = body["channel"]?.stringValue ?? body["provider"]?.stringValue ?? "whatsapp"
        return Channel(rawValue: name)?.rawValue ?? "unknown"
    }
}
