import Foundation
import Testing

@testable import AvioApp

@Suite("JSON parser and serializer")
struct JSONParserTests {
    @Test("valid documents parse to the expected values", arguments: [
        (#"{"a":1,"b":[true,false,null],"c":"x"}"#, JSONValue.object(["a": .int(1), "b": .array([.bool(true), .bool(false), .null]), "c": .string("x")])),
        (" [ ] ", .array([])),
        ("{ }", .object([:])),
        ("-0", .int(0)),
        ("9223372036854775807", .int(.max)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("1.5e3", .double(1500)),
        ("-2E-2", .double(-0.02)),
        (#""\u041f\u0440\u0438\u0432\u0435\u0442""#, .string("Привет")),
        (#""\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t""#, .string("😀 \"q\" \\ / \u{8}\u{C}\n\r\t")),
        (#""Привет 👋""#, .string("Привет 👋")),
        (#"{"a":1,"a":2}"#, .object(["a": .int(2)])),
    ])
    func valid(text: String, expected: JSONValue) {
        #expect(JSONValue.parse(Array(text.utf8)) == expected)
    }

    @Test("invalid documents are refused", arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{'a':1}", "{a:1}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity",
        "tru", "nul", "[1 2]", "{\"a\" 1}", "\"unterminated", "\"tab\there\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"\\u12\"", "1 2", "[1]x", "1e400",
    ])
    func invalid(text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil)
    }

    @Test("invalid UTF-8 inside strings is refused, with and without escapes")
    func invalidUTF8() {
        #expect(JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) == nil)
        #expect(JSONValue.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) == nil)
        #expect(JSONValue.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) == nil)  // UTF-8-encoded surrogate
    }

    @Test("nesting is limited to 64 levels")
    func depth() {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(JSONValue.parse(Array(ok.utf8)) != nil)
        #expect(JSONValue.parse(Array(deep.utf8)) == nil)
    }

    @Test("serializing and parsing round-trips, and Foundation reads what we write", arguments: [
        #"{"text":"line\nbreak \"quoted\" \\ back \u0001 ctrl","n":-12,"f":1.25,"list":[{},[],null,true],"ru":"Привет 😀"}"#,
        #"[1e-7,123456789012345,"/path/"]"#,
    ])
    func roundTrip(text: String) throws {
        let value = try #require(JSONValue.parse(Array(text.utf8)))
        let written = value.jsonString
        #expect(JSONValue.parse(Array(written.utf8)) == value)
        _ = try JSONSerialization.jsonObject(with: Data(written.utf8), options: [.fragmentsAllowed])
        #expect(!written.contains("\\/"))
    }

    @Test("keys are written sorted, so stored payloads are stable")
    func sortedKeys() {
        #expect(JSONValue.object(["b": 1, "a": 2, "c": ["z": 1, "y": 2]]).jsonString == #"{"a":2,"b":1,"c":{"y":2,"z":1}}"#)
    }
}
