import Foundation
import Hummingbird
import Testing

@testable import AvioApp

@Suite("Admin page and OpenAPI document")
struct OpenAPIAndPageTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("the admin page is served from the binary at /admin and /")
    func adminPage() async throws {
        try await withTestApp { app in
            for uri in ["/admin", "/"] {
                let page = try await app.get(uri)
                #expect(page.status == .ok)
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.text.contains("/admin/assets/app.js"))
            }
            let script = try await app.get("/admin/assets/app.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(try await app.get("/admin/assets/missing.js").json == json(#"{"ok":false,"error":"not_found"}"#))
        }
    }

    @Test("/openapi.yaml serves the document kept in the repository")
    func openAPIServed() async throws {
        try await withTestApp { app in
            let served = try await app.get("/openapi.yaml")
            #expect(served.status == .ok)
            let onDisk = try String(contentsOf: Self.root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
            #expect(served.text == onDisk)
        }
    }

    @Test("the OpenAPI document is valid 3.1 and names every route of the router")
    func openAPIValid() throws {
        #expect(try Self.run("python3", ["scripts/check_openapi_routes.py"]) == 0)
        #expect(try Self.run("python3", ["-c", "import yaml; from openapi_spec_validator import validate; validate(yaml.safe_load(open('openapi.yaml')))"]) == 0)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = root
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
