import GRDB
import HTTPTypes
import Hummingbird
import Testing

@testable import AvioApp

@Suite("Health, metrics and the error catalogue (CONTRACT §8)")
struct HealthAndErrorsTests {
    @Test("health reports the database and queues")
    func health() async throws {
        try await withTestApp { app in
            let response = try await app.get("/health")
            #expect(response.status == .ok)
            let body = response.json
            #expect(body["ok"] == true)
            #expect(body["db"] == "ok")
            #expect(body["schema_version"] == .int(Int64(Migrations.all.count)))
            #expect(body["inbox"] == json(#"{"pending":0,"parked":0}"#))
            #expect(body["outbox_enabled"] == false)
        }
    }

    @Test("health and the queue gauges count jobs by status")
    func queueCounts() async throws {
        try await withTestApp { app in
            let token = try await app.token()
            for id in ["a", "b", "c", "d"] { _ = try await app.post("/webhook?token=\(token)", json: Fixture.incoming(id: id)) }
            try await app.database.writer.write { db in
                try db.execute(sql: "UPDATE inbox SET status = 'parked' WHERE id = 1")
                try db.execute(sql: "UPDATE inbox SET status = 'done' WHERE id IN (2, 3)")
            }
            #expect(try await app.get("/health").json["inbox"] == json(#"{"pending":1,"parked":1}"#))
            let metrics = try await app.get("/metrics").text
            #expect(metrics.contains(#"inbox_queue_depth{status="pending"} 1"#))
            #expect(metrics.contains(#"inbox_queue_depth{status="parked"} 1"#))
            #expect(metrics.contains(#"inbox_queue_depth{status="done"} 2"#))
            // /health's counts are index range counts, not scans of every finished job.
            for table in ["inbox", "outbox"] {
                let plan = try await app.database.writer.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM \(table) WHERE status = ?", arguments: ["pending"])
                        .map { $0["detail"] as String }
                }
                #expect(plan == ["SEARCH \(table) USING COVERING INDEX \(table)_ready (status=?)"])
            }
        }
    }

    @Test("health answers 503 when the database is unusable")
    func healthUnusable() async throws {
        try await withTestApp { app in
            try await app.database.writer.write { db in try db.execute(sql: "DROP TABLE schema_migrations") }
            let response = try await app.get("/health")
            #expect(response.status == .serviceUnavailable)
            #expect(response.json == json(#"{"ok":false,"error":"db_unavailable","db":"error"}"#))
        }
    }

    @Test("metrics are Prometheus text with request counters and queue gauges")
    func metrics() async throws {
        try await withTestApp { app in
            _ = try await app.get("/health")
            let response = try await app.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(response.text.contains(#"http_requests_total{method="GET",route="/health",status="200"} 1"#))
            #expect(response.text.contains("http_request_duration_seconds_bucket"))
            #expect(response.text.contains(#"inbox_queue_depth{status="pending"} 0"#))
            #expect(response.text.contains(#"outbox_queue_depth{status="queued"} 0"#))
        }
    }

    @Test("an unknown route is 404 not_found in JSON")
    func unknownRoute() async throws {
        try await withTestApp { app in
            let response = try await app.get("/nope/../etc/passwd")
            #expect(response.status == .notFound)
            #expect(response.json == json(#"{"ok":false,"error":"not_found"}"#))
        }
    }

    @Test("a body over 1 MiB is 413 payload_too_large")
    func hugeBody() async throws {
        try await withTestApp { app in
            let big = "{\"x\":\"" + String(repeating: "a", count: 2 << 20) + "\"}"
            let response = try await app.request(.post, "/webhook?token=x", body: big)
            #expect(response.status == .contentTooLarge)
            #expect(response.json == json(#"{"ok":false,"error":"payload_too_large"}"#))
        }
    }
}
