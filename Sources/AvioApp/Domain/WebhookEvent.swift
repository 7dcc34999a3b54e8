import Foundation

/// An inbound message after validation (CONTRACT §5.1, §5.3), in one shape for both workers.
public struct InboundMessage: Sendable, Equatable {
    public var tenant: Int64
    public var channel: Channel
    /// Sender as the worker names it: WhatsApp phone/JID user part, Telegram user id.
    public var from: String
    /// Provider message id, unique per `(tenant, channel)`; Telegram ids are scoped by chat (`chat:id`).
    public var messageID: String
    public var text: String?
    /// `media` / `attachments` items as given (objects).
    public var media: [JSONValue]
    public var ts: Date?
    public var name: String?
    public var username: String?
}

/// One validated `POST /webhook` body.
public enum WebhookEvent: Sendable, Equatable {
    case message(InboundMessage)
    case qr(tenant: Int64, qrID: String, svg: String)
    case ready(tenant: Int64, state: String?, ts: Date?)

    public var name: String {
        switch self {
        case .message: "messages.incoming"
        case .qr: "qr"
        case .ready: "ready"
        }
    }

    /// True for payloads of the Telegram worker (§5.3): no `event`, `channel` telegram or a `from_id`.
    public static func isTelegramWorkerPayload(_ body: JSONValue) -> Bool {
        body["event"] == nil && (body["channel"]?.stringValue == "telegram" || body["from_id"] != nil)
    }

    /// Validates a body whose tenant was already read; throws `invalid_payload` (with the field) or `invalid_qr`.
    public static func parse(_ body: JSONValue, tenant: Int64) throws(APIError) -> WebhookEvent {
        if isTelegramWorkerPayload(body) { return .message(try telegramMessage(body, tenant: tenant)) }
        guard let event = body["event"]?.stringValue else { throw .invalidPayload("event") }
        switch event {
        case "messages.incoming", "message", "messages.upsert":
            return .message(try whatsappStyleMessage(body, tenant: tenant))
        case "qr":
            guard let qrID = body["qr_id"]?.textValue, Self.isReasonableID(qrID) else { throw .invalidPayload("qr_id") }
            guard let svg = body["svg"]?.stringValue, SVGCheck.isSVGDocument(svg) else { throw .invalidQR }
            return .qr(tenant: tenant, qrID: qrID, svg: svg)
        case "ready":
            let state = try optionalString(body, "state")
            let ts = try optionalTimestamp(body, "ts")
            return .ready(tenant: tenant, state: state, ts: ts)
        default:
            throw .invalidPayload("event")
        }
    }

    // MARK: - Shapes

    private static func whatsappStyleMessage(_ body: JSONValue, tenant: Int64) throws(APIError) -> InboundMessage {
        guard let channelName = body["channel"]?.stringValue ?? body["provider"]?.stringValue,
              let channel = Channel(rawValue: channelName) else { throw .invalidPayload("channel") }
        guard let from = body["from"]?.textValue, isReasonableID(from) else { throw .invalidPayload("from") }
        guard let messageID = body["message_id"]?.textValue, isReasonableID(messageID) else { throw .invalidPayload("message_id") }
        return try message(body, tenant: tenant, channel: channel, from: from, messageID: messageID)
    }

    private static func telegramMessage(_ body: JSONValue, tenant: Int64) throws(APIError) -> InboundMessage {
        if let channel = body["channel"], channel != "telegram" { throw .invalidPayload("channel") }
        guard let from = (body["from_id"] ?? body["from"])?.textValue, isReasonableID(from) else { throw .invalidPayload("from_id") }
        let raw = body["provider_raw"]
        guard let id = (raw?["id"] ?? body["message_id"])?.textValue, isReasonableID(id) else {
            throw .invalidPayload("provider_raw.id")
        }
        // Telegram message ids are counters per chat: scope them by the chat so two chats never collide.
        let peer = raw?["peer_id"]
        let chat = (peer?["user_id"] ?? peer?["chat_id"] ?? peer?["channel_id"])?.textValue ?? from
        return try message(body, tenant: tenant, channel: .telegram, from: from, messageID: "\(chat):\(id)")
    }

    private static func message(_ body: JSONValue, tenant: Int64, channel: Channel, from: String,
                                messageID: String) throws(APIError) -> InboundMessage {
        let text = try optionalString(body, "text")
        var media: [JSONValue] = []
        for key in ["media", "attachments"] {
            switch body[key] {
            case nil, .null?: continue
            case .array(let items)?:
                guard items.allSatisfy({ $0.objectValue != nil }) else { throw .invalidPayload(key) }
                media += items
            default: throw .invalidPayload(key)
            }
        }
        let hasText = !(text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        guard hasText || !media.isEmpty else { throw .invalidPayload("text") }
        for key in ["from_jid", "to", "provider"] {
            if let value = body[key], value.textValue == nil, !value.isNull { throw .invalidPayload(key) }
        }
        let ts = try optionalTimestamp(body, "ts")
        let name = (body["name"] ?? body["push_name"] ?? body["pushname"] ?? body["first_name"])?.stringValue
        let username = body["username"]?.stringValue
        return InboundMessage(tenant: tenant, channel: channel, from: from, messageID: messageID, text: hasText ? text : nil,
                              media: media, ts: ts, name: name, username: username)
    }

    private static func optionalString(_ body: JSONValue, _ key: String) throws(APIError) -> String? {
        switch body[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw .invalidPayload(key)
        }
    }

    private static func optionalTimestamp(_ body: JSONValue, _ key: String) throws(APIError) -> Date? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let date = Timestamp.parse(value) else { throw .invalidPayload(key) }
        return date
    }

    /// Ids and senders: non-empty, at most 256 characters, no control characters.
    static func isReasonableID(_ text: String) -> Bool {
        // Control characters (general category Cc) are exactly U+0000–U+001F and U+007F–U+009F.
        !text.isEmpty && (text.utf8.count <= 256 || text.count <= 256)
            && !text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
    }
}

/// "Must be an SVG document" (§5.1): `<svg` after an optional BOM, whitespace, XML prolog, comments or doctype.
public enum SVGCheck {
    public static func isSVGDocument(_ text: String) -> Bool {
        var rest = Substring(text).drop { $0 == "\u{FEFF}" || $0.isWhitespace }
        while true {
            if rest.hasPrefix("<svg") {
                let next = rest.dropFirst(4).first
                return next == nil || next == ">" || next!.isWhitespace || next == "/"
            }
            let closer: String
            if rest.hasPrefix("<?") { closer = "?>" } else if rest.hasPrefix("<!--") { closer = "-->" } else if rest.hasPrefix("<!") { closer = ">" } else { return false }
            guard let end = rest.range(of: closer) else { return false }
            rest = rest[end.upperBound...].drop { $0.isWhitespace }
        }
    }
}
