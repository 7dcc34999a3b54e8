/// `OUTBOX_WHITELIST` (CONTRACT §6.2): entries separated by spaces or commas; empty blocks all, `*` allows all.
public struct Whitelist: Sendable, Equatable {
    public let allowsAll: Bool
    private let ids: Set<Int64>
    private let usernames: Set<String>
    private let phones: Set<String>
    /// The entries as configured, for diagnostics.
    public let entries: [String]

    public init(_ raw: String) {
        let entries = raw.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        self.entries = entries
        allowsAll = entries.contains("*")
        var ids = Set<Int64>(), usernames = Set<String>(), phones = Set<String>()
        for entry in entries where entry != "*" {
            if let id = Int64(entry) { ids.insert(id) }
            if let phone = Recipient.normalizePhone(entry) { phones.insert(phone) }
            let name = entry.hasPrefix("@") ? String(entry.dropFirst()) : entry
            if Recipient.isUsername(Substring(name)) || entry.lowercased() == "me" { usernames.insert(name.lowercased()) }
        }
        self.ids = ids
        self.usernames = usernames
        self.phones = phones
    }

    /// Whether `recipient` may be messaged.
    public func allows(_ recipient: Recipient) -> Bool {
        if allowsAll { return true }
        switch recipient {
        case .telegramSelf: return usernames.contains("me")
        case .telegramID(let id): return ids.contains(id)
        case .telegramUsername(let name): return usernames.contains(name.lowercased())
        case .whatsappPhone(let digits): return phones.contains(digits)
        }
    }
}
