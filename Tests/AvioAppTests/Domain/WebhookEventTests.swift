import Foundation
import Testing

@testable import AvioApp

@Suite("Webhook payload validation (CONTRACT §5.1, §5.3)")
struct WebhookEventTests {
    @Test("the WhatsApp worker's real message parses")
    func whatsappMessage() throws {
        let body = json(#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","provider":"whatsapp","message_id":"false_79991234567@c.us_3EB0ABC","from":"79991234567","from_jid":"79991234567@c.us","text":"Привет","ts":1716800000,"media":[{"type":"image","url":"whatsapp://1/x","name":"p.jpg","mime":"image/jpeg","size":1234}],"to":"79990001122@c.us","provider_raw":{}}"#)
        guard case .message(let message) = try WebhookEvent.parse(body, tenant: 1) else { Issue.record("not a message"); return }
        #expect(message.messageID == "false_79991234567@c.us_3EB0ABC")
        #expect(message.text == "Привет")
        #expect(message.media.count == 1)
        #expect(message.ts == Date(timeIntervalSince1970: 1_716_800_000))
    }

    @Test("a Telegram worker payload becomes a message scoped by chat")
    func telegramPayload() throws {
        let body = json(#"{"tenant":1,"channel":"telegram","from_id":777,"to":999,"text":"hello there","attachments":[{"type":"MessageMediaPhoto","url":"telegram://1/101","name":"a.jpg","mime":"image/jpeg","size":10}],"ts":1714564800,"provider_raw":{"id":101,"peer_id":{"user_id":777}}}"#)
        guard case .message(let message) = try WebhookEvent.parse(body, tenant: 1) else { Issue.record("not a message"); return }
        #expect(message.channel == .telegram)
        #expect(message.from == "777")
        #expect(message.messageID == "777:101")
    }

    @Test("schema violations name the field", arguments: [
        (#"{"event":"nope","tenant":1}"#, "event"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"sms","from":"1","message_id":"m","text":"x"}"#, "channel"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","message_id":"m","text":"x"}"#, "from"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","from":"1","text":"x"}"#, "message_id"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","from":"1","message_id":"m"}"#, "text"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","from":"1","message_id":"m","text":"  "}"#, "text"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","from":"1","message_id":"m","text":5}"#, "text"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","from":"1","message_id":"m","media":"x"}"#, "media"),
        (#"{"event":"messages.incoming","tenant":1,"channel":"whatsapp","from":"1","message_id":"m","text":"x","ts":"soon"}"#, "ts"),
        (#"{"event":"qr","tenant":1,"svg":"<svg></svg>"}"#, "qr_id"),
        (#"{"tenant":1,"channel":"telegram","from_id":7,"text":"x"}"#, "provider_raw.id"),
    ])
    func violations(body: String, field: String) {
        #expect(throws: APIError.invalidPayload(field)) { try WebhookEvent.parse(json(body), tenant: 1) }
    }

    @Test("a QR without an SVG document is invalid_qr", arguments: [
        #"{"event":"qr","tenant":1,"qr_id":"1"}"#, #"{"event":"qr","tenant":1,"qr_id":"1","svg":"<html></html>"}"#,
        #"{"event":"qr","tenant":1,"qr_id":"1","svg":"<svgx/>"}"#,
    ])
    func invalidQR(body: String) {
        #expect(throws: APIError.invalidQR) { try WebhookEvent.parse(json(body), tenant: 1) }
    }

    @Test("SVG documents may start with a prolog, comments and a doctype")
    func svgProlog() {
        #expect(SVGCheck.isSVGDocument(#"<?xml version="1.0"?><!-- c --><!DOCTYPE svg><svg xmlns="x"/>"#))
        #expect(SVGCheck.isSVGDocument("\n <svg viewBox=\"0 0 1 1\"></svg>\n"))
        #expect(!SVGCheck.isSVGDocument("<?xml version=\"1.0\"?>"))
    }

    @Test("timestamps accept seconds, milliseconds and ISO 8601")
    func timestamps() {
        #expect(Timestamp.parse(.int(1_795_553_101_786)) == Date(timeIntervalSince1970: 1_795_553_101.786))
        #expect(Timestamp.parse(.int(1_716_800_000)) == Date(timeIntervalSince1970: 1_716_800_000))
        #expect(Timestamp.parse(.string("2024-05-27T08:53:20Z")) == Date(timeIntervalSince1970: 1_716_800_000))
        #expect(Timestamp.parse(.int(-5)) == nil)
    }

    @Test("JSON nested deeper than the limit is refused before decoding")
    func depthLimit() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(JSONValue.parse(Array(deep.utf8)) == nil)
        #expect(JSONValue.parse(Array(#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#.utf8)) != nil)
    }

    @Test("invalid UTF-8 is not JSON")
    func invalidUTF8() {
        #expect(JSONValue.parse([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]) == nil)
    }
}
