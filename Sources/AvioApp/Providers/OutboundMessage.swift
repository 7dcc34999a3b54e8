/// What both workers are asked to deliver (CONTRACT §6.1), after validation and normalization.
public struct OutboundMessage: Sendable, Equatable {
    public struct Attachment: Sendable, Equatable {
        public var type: String
        public var url: String
        public var name: String?
        public var mime: String?
    }

    public var tenant: Int64
    public var channel: Channel
    public var recipient: Recipient
    public var text: String?
    public var attachments: [Attachment]
    /// `meta` as given, forwarded to the Telegram worker (`reply_to`, `lead_id`, …).
    public var meta: [String: JSONValue]
}

/// A successful delivery: the ids the worker reported.
public struct DeliveryReceipt: Sendable, Equatable {
    public var peerID: JSONValue?
    public var messageID: JSONValue?

    public init(peerID: JSONValue? = nil, messageID: JSONValue? = nil) {
        self.peerID = peerID
        self.messageID = messageID
    }
}
