/// A channel messages travel on.
public enum Channel: String, Sendable, Codable, CaseIterable {
    case telegram
    case whatsapp
}

/// A validated, normalized recipient of an outbound message (CONTRACT §6.2).
public enum Recipient: Sendable, Equatable {
    /// Telegram "Saved Messages" of the connected account.
    case telegramSelf
    case telegramID(Int64)
    /// Username without the leading `@`, as typed.
    case telegramUsername(String)
    /// WhatsApp phone number, digits only, country code first.
    case whatsappPhone(String)

    /// Parses `to` for `channel`; `nil` when it is not a valid recipient (`422 invalid_to`).
    public init?(channel: Channel, to raw: String) {
        let to = raw.trimmingCharacters(in: .whitespaces)
        switch channel {
        case .telegram:
            if to.lowercased() == "me" || to.lowercased() == "self" {
                self = .telegramSelf
            } else if let id = Int64(to), id != 0 {
                self = .telegramID(id)
            } else if to.hasPrefix("@"), Self.isUsername(to.dropFirst()) {
                self = .telegramUsername(String(to.dropFirst()))
            } else {
                return nil
            }
        case .whatsapp:
            guard let digits = Self.normalizePhone(to) else { return nil }
            self = .whatsappPhone(digits)
        }
    }

    /// What the worker receives as `to`: `me`, the id, `@username`, or `digits@c.us`.
    public var workerAddress: String {
        switch self {
        case .telegramSelf: "me"
        case .telegramID(let id): String(id)
        case .telegramUsername(let name): "@" + name
        case .whatsappPhone(let digits): digits + "@c.us"
        }
    }

    /// The contact's external id under which the send is recorded.
    public var externalID: String {
        switch self {
        case .telegramSelf: "me"
        case .telegramID(let id): String(id)
        case .telegramUsername(let name): "@" + name.lowercased()
        case .whatsappPhone(let digits): digits
        }
    }

    /// Telegram usernames: 5–32 characters, letters, digits and underscores, starting with a letter.
    static func isUsername(_ name: Substring) -> Bool {
        guard (4...32).contains(name.count), let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// WhatsApp numbers: `+E164`, 10–15 digits, or `digits@c.us`; separators stripped; Russian `8XXXXXXXXXX`
    /// becomes `7XXXXXXXXXX`. Group JIDs (`@g.us`) and anything with letters are rejected.
    public static func normalizePhone(_ raw: String) -> String? {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if text.lowercased().hasSuffix("@c.us") {
            text = String(text.dropLast(5))
            guard text.allSatisfy(\.isASCIIDigit) else { return nil }
        } else if text.hasPrefix("+") {
            text = String(text.dropFirst())
        }
        let allowed: Set<Character> = [" ", "-", "(", ")", "."]
        guard !text.isEmpty, text.allSatisfy({ $0.isASCIIDigit || allowed.contains($0) }) else { return nil }
        var digits = text.filter(\.isASCIIDigit)
        guard (10...15).contains(digits.count) else { return nil }
        if digits.count == 11, digits.hasPrefix("8") { digits = "7" + digits.dropFirst() }
        return digits
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
