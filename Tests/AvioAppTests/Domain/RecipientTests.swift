import Testing

@testable import AvioApp

@Suite("Recipients (CONTRACT §6.2)")
struct RecipientTests {
    @Test("Telegram accepts me, numeric ids and @usernames", arguments: [
        ("me", Recipient.telegramSelf), ("123456789", .telegramID(123_456_789)), ("-1001234567890", .telegramID(-1_001_234_567_890)),
        ("@Shop_Bot", .telegramUsername("Shop_Bot")), (" @durov ", .telegramUsername("durov")),
    ])
    func telegramValid(raw: String, expected: Recipient) {
        #expect(Recipient(channel: .telegram, to: raw) == expected)
    }

    @Test("Telegram rejects junk", arguments: ["", "durov", "@", "@1abc", "@a b", "0", "@ab", "12ab", "me@c.us"])
    func telegramInvalid(raw: String) {
        #expect(Recipient(channel: .telegram, to: raw) == nil)
    }

    @Test("WhatsApp numbers normalize to digits", arguments: [
        ("+79991234567", "79991234567"), ("79991234567", "79991234567"), ("79991234567@c.us", "79991234567"),
        ("89991234567", "79991234567"), ("+7 (999) 123-45-67", "79991234567"), ("4915112345678", "4915112345678"),
        ("1234567890", "1234567890"), ("123456789012345", "123456789012345"),
    ])
    func whatsappValid(raw: String, digits: String) {
        #expect(Recipient(channel: .whatsapp, to: raw) == .whatsappPhone(digits))
        #expect(Recipient(channel: .whatsapp, to: raw)?.workerAddress == digits + "@c.us")
    }

    @Test("WhatsApp rejects groups, short and long numbers, letters", arguments: [
        "120363025246125486@g.us", "123456789", "1234567890123456", "+7999abc4567", "", "@c.us", "me", "7999123456@s.whatsapp.net",
    ])
    func whatsappInvalid(raw: String) {
        #expect(Recipient(channel: .whatsapp, to: raw) == nil)
    }

    @Test("an 8-prefixed number that is not 11 digits keeps its 8")
    func eightPrefixOnlyForElevenDigits() {
        #expect(Recipient(channel: .whatsapp, to: "891234567890") == .whatsappPhone("891234567890"))
    }
}

@Suite("Whitelist (OUTBOX_WHITELIST)")
struct WhitelistTests {
    @Test("empty blocks everyone")
    func emptyBlocksAll() {
        let list = Whitelist("")
        #expect(!list.allows(.telegramSelf))
        #expect(!list.allows(.whatsappPhone("79991234567")))
    }

    @Test("star allows everyone")
    func starAllowsAll() {
        #expect(Whitelist("*").allows(.telegramID(5)))
        #expect(Whitelist("foo, *").allows(.whatsappPhone("79991234567")))
    }

    @Test("entries separated by spaces or commas match by id, username and phone")
    func matching() {
        let list = Whitelist("123, @Shop_Owner 89991234567,+4915112345678  me")
        #expect(list.allows(.telegramID(123)))
        #expect(list.allows(.telegramUsername("shop_owner")))
        #expect(list.allows(.telegramUsername("SHOP_OWNER")))
        #expect(list.allows(.whatsappPhone("79991234567")))
        #expect(list.allows(.whatsappPhone("4915112345678")))
        #expect(list.allows(.telegramSelf))
        #expect(!list.allows(.telegramID(124)))
        #expect(!list.allows(.whatsappPhone("79991234568")))
        #expect(!list.allows(.telegramUsername("someone_else")))
    }

    @Test("a username entry without @ matches too")
    func usernameWithoutAt() {
        #expect(Whitelist("shop_owner").allows(.telegramUsername("Shop_Owner")))
    }
}
