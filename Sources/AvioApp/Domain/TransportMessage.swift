/// `POST /send` body after schema validation (CONTRACT §6.1), before the guards. `to` is still raw: recipient
/// validation comes after the `OUTBOX_ENABLED` check in the contract's order.
public struct TransportMessage: Sendable, Equatable {
    public var tenant: Int64
    public var channel: Channel
    public var to: String
    public var text: String?
    public var attachments: [OutboundMessage.Attachment]
    public var meta: [String: JSONValue]

    /// `meta.lead_id` when given.
    public var leadID: Int64? { if case .int(let id)? = meta["lead_id"] { id } else { meta["lead_id"]?.stringValue.flatMap { Int64($0) } } }

    /// `meta.idempotency_key` when given.
    public var idempotencyKey: String? { meta["idempotency_key"]?.textValue }

    /// Validates the body; `422 invalid_payload` with the offending field, `422 invalid_tenant`.
    public static func parse(_ body: JSONValue) throws(APIError) -> TransportMessage {
        guard body.objectValue != nil else { throw .invalidPayload("body") }
        guard let tenant = TenantID.parse(body["tenant"]) else { throw .invalidTenantInBody }
        guard let channel = body["channel"]?.stringValue.flatMap(Channel.init(rawValue:)) else { throw .invalidPayload("channel") }
        guard let to = body["to"]?.textValue, !to.trimmingCharacters(in: .whitespaces).isEmpty, to.count <= 256 else {
            throw .invalidPayload("to")
        }
        var text: String?
        switch body["text"] {
        case nil, .null?: text = nil
        case .string(let value)?: text = value
        default: throw .invalidPayload("text")
        }
        if text?.count ?? 0 > 4096 * 4 { throw .invalidPayload("text") }
        var attachments: [OutboundMessage.Attachment] = []
        switch body["attachments"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let url = item["url"]?.stringValue, !url.isEmpty else { throw .invalidPayload("attachments") }
                for key in ["type", "name", "mime"] {
                    if let value = item[key], value.stringValue == nil, !value.isNull { throw .invalidPayload("attachments") }
                }
                attachments.append(.init(type: item["type"]?.stringValue ?? "file", url: url,
                                         name: item["name"]?.stringValue, mime: item["mime"]?.stringValue))
            }
        default: throw .invalidPayload("attachments")
        }
        guard !(text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !attachments.isEmpty else {
            throw .invalidPayload("text")
        }
        var meta: [String: JSONValue] = [:]
        switch body["meta"] {
        case nil, .null?: break
        case .object(let fields)?: meta = fields
        default: throw .invalidPayload("meta")
        }
        if let replyTo = meta["reply_to"], replyTo.textValue == nil, !replyTo.isNull { throw .invalidPayload("meta.reply_to") }
        if let lead = meta["lead_id"], !lead.isNull {
            guard case .int(let id) = lead, id >= 1 else { throw .invalidPayload("meta.lead_id") }
        }
        if let key = meta["idempotency_key"], !key.isNull {
            guard let text = key.textValue, !text.isEmpty, text.count <= 200 else { throw .invalidPayload("meta.idempotency_key") }
        }
        return TransportMessage(tenant: tenant, channel: channel, to: to, text: text, attachments: attachments, meta: meta)
    }

    /// Back to JSON, for the outbox table.
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "tenant": .int(tenant), "channel": .string(channel.rawValue), "to": .string(to),
            "attachments": .array(attachments.map(\.json)), "meta": .object(meta),
        ]
        fields["text"] = .string(text)
        return .object(fields)
    }
}
