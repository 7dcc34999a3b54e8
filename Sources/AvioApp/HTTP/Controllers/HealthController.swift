import Hummingbird

/// `/health` and `/metrics` (CONTRACT §8).
struct HealthController: Sendable {
    let database: AppDatabase
    let metrics: AppMetrics
    let config: AppConfig
    let startedAt: ContinuousClock.Instant = .now

    /// `200 {"ok":true,"db":"ok",…}`, or `503` when SQLite cannot be read.
    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        do {
            let version = try await database.check()
            // Only the small statuses: /health is polled often and must stay fast with millions of finished jobs.
            let inbox = try await database.queueDepths(table: .inbox, statuses: ["pending", "parked"])
            let outbox = try await database.queueDepths(table: .outbox, statuses: ["queued", "failed"])
            return JSONResponse.make([
                "ok": true, "db": "ok", "schema_version": .int(Int64(version)),
                "uptime_s": .int((ContinuousClock.now - startedAt).components.seconds),
                "outbox_enabled": .bool(config.outboxEnabled),
                "inbox": ["pending": .int(Int64(inbox["pending"] ?? 0)), "parked": .int(Int64(inbox["parked"] ?? 0))],
                "outbox": ["queued": .int(Int64(outbox["queued"] ?? 0)), "failed": .int(Int64(outbox["failed"] ?? 0))],
            ])
        } catch {
            context.logger.error("health check: database unusable", metadata: ["error": "\(error)"])
            return JSONResponse.make(["ok": false, "error": "db_unavailable", "db": "error"], status: .serviceUnavailable)
        }
    }

    /// Prometheus text; queue depth gauges are refreshed from SQLite at each scrape.
    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        for (queue, statuses) in [(AppDatabase.QueueTable.inbox, ["pending", "done", "parked"]),
                                  (.outbox, ["queued", "sent", "failed", "skipped"])] {
            let depths = (try? await database.queueDepths(table: queue, statuses: statuses)) ?? [:]
            for status in statuses { metrics.setQueueDepth(queue: queue.rawValue, status: status, depth: depths[status] ?? 0) }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
    }
}
