import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AvioApp

/// Hostile and broken input (issue: "bad input never hurts"): every case gets a clean 4xx JSON error and nothing is
/// stored in any table.
@Suite("Bad-input corpus")
struct BadInputCorpusTests {
    static let bodies: [(String, [UInt8])] = [
        ("truncated JSON", Array(#"{"event":"messages.incoming","tenant":1,"chan"#.utf8)),
        ("empty body", []),
        ("not JSON", Array("tenant=1&text=hi".utf8)),
        ("JSON array", Array("[{}]".utf8)),
        ("JSON null", Array("null".utf8)),
        ("wrong types", Array(#"{"event":5,"tenant":{"a":1},"channel":[],"from":true,"message_id":null,"text":7}"#.utf8)),
        ("deeply nested", Array((String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)).utf8)),
        ("deeply nested object", Array((String(repeating: #"{"a":"#, count: 5_000) + "1" + String(repeating: "}", count: 5_000)).utf8)),
        ("invalid UTF-8", [0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0xFF, 0x22, 0x7D]),
        ("NUL bytes", Array("{\"tenant\":1,\u{0}\"x\":1}".utf8)),
        ("SQL injection", Array(#"{"event":"messages.incoming","tenant":"1; DROP TABLE messages;--","channel":"whatsapp","from":"x","message_id":"' OR 1=1 --","text":"x"}"#.utf8)),
        ("negative tenant", Array(#"{"event":"ready","tenant":-1,"channel":"whatsapp"}"#.utf8)),
        ("zero tenant", Array(#"{"event":"ready","tenant":0,"channel":"whatsapp"}"#.utf8)),
        ("huge tenant", Array(#"{"event":"ready","tenant":99999999999999999999999999,"channel":"whatsapp"}"#.utf8)),
        ("float tenant", Array(#"{"event":"ready","tenant":1.0000001,"channel":"whatsapp"}"#.utf8)),
        ("10 MB body", Array(repeating: UInt8(ascii: "a"), count: 10 << 20)),
    ]

    static let routes: [(HTTPRequest.Method, String)] = [
        (.post, "/webhook?token=TOKEN"), (.post, "/send"), (.post, "/send?async=1"),
        (.post, "/internal/tenant/1/ensure?token=test-waweb-token"), (.post, "/pub/tg/2fa?k=test-public-key"),
    ]

    @Test("every broken body gets a 4xx JSON error on every body-reading route, and nothing is stored")
    func brokenBodies() async throws {
        try await withTestApp(telegram: UnexpectedGateway(), whatsapp: UnexpectedGateway()) { app in
            let token = try await app.token()
            let before = try await tableCounts(app)
            for (name, bytes) in Self.bodies {
                for (method, route) in Self.routes {
                    var headers = app.admin
                    headers[.contentType] = "application/json"
                    let response = try await app.client.execute(uri: route.replacingOccurrences(of: "TOKEN", with: token), method: method,
                                                                headers: headers, body: ByteBuffer(bytes: bytes))
                    // The ensure body is optional and only `source` is read: an empty body or any JSON object is a valid call.
                    if route.contains("ensure"), bytes.isEmpty || JSONValue.parse(bytes)?.objectValue != nil {
                        #expect(response.status == .ok, "\(name) → \(route)")
                        continue
                    }
                    #expect((400..<500).contains(response.status.code), "\(name) → \(route): \(response.status)")
                    #expect(response.json["ok"] == false, "\(name) → \(route)")
                    #expect(response.json["error"]?.stringValue != nil, "\(name) → \(route)")
                }
            }
            let after = try await tableCounts(app)
            #expect(after == before)
        }
    }

    @Test("injection strings in paths and queries are clean 4xx", arguments: [
        "/admin/provider-token/1%3B%20DROP%20TABLE%20provider_tokens", "/admin/provider-token/..%2F..%2Fetc%2Fpasswd",
        "/admin/provider-token/-1", "/admin/provider-token/0", "/admin/provider-token/99999999999999999999",
        "/admin/keys/list?tenant=1%20OR%201%3D1", "/admin/leads?tenant=1'--", "/admin/leads?limit=-5", "/admin/leads?before=abc",
        "/admin/leads/1%20OR%201=1/messages", "/admin/outbox/1;DROP", "/admin/inbox?status='%20OR%20''='",
        "/admin/webhook-events?tenant=%00", "/../../etc/passwd", "/admin/assets/..%2F..%2FPackage.swift",
    ])
    func injectionInURLs(uri: String) async throws {
        try await withTestApp { app in
            let before = try await tableCounts(app)
            let response = try await app.get(uri, headers: app.admin)
            #expect((400..<500).contains(response.status.code), "\(uri) → \(response.status)")
            #expect(response.json["ok"] == false)
            #expect(try await tableCounts(app) == before)
        }
    }

    @Test("public routes reject hostile tenants and keys without reaching a worker", arguments: [
        "/pub/tg/status?tenant=1'--&k=test-public-key", "/pub/tg/status?tenant=-1&k=test-public-key",
        "/pub/wa/status?tenant=1&k=test-public-key%00", "/pub/wa/qr.svg?tenant=1&qr_id=../../etc&k=test-public-key",
        "/pub/tg/qr.png?tenant=1&k=test-public-key", "/pub/wa/status?tenant=1e3&k=test-public-key",
    ])
    func hostilePublicQueries(uri: String) async throws {
        try await withTestApp(telegram: UnexpectedGateway(), whatsapp: UnexpectedGateway()) { app in
            let response = try await app.get(uri)
            #expect((400..<500).contains(response.status.code), "\(uri) → \(response.status)")
            #expect(response.json["ok"] == false)
        }
    }

    private func tableCounts(_ app: TestContext) async throws -> [Int] {
        var counts: [Int] = []
        for table in ["provider_tokens", "contacts", "leads", "messages", "webhook_events", "inbox", "outbox"] {
            counts.append(try await app.count(table))
        }
        return counts
    }
}
