import Hummingbird

/// Read APIs for operators (admin token): leads, messages, webhook events, inbox and outbox jobs. JSON, newest
/// first, paginated with `limit` (1–500, default 50) and `before` (an id; the next page starts below it).
struct AdminReadController: Sendable {
    let database: AppDatabase

    @Sendable func leads(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try Page(request)
        let items = try await database.leads(tenant: try optionalTenant(request), limit: page.limit, before: page.before)
        return page.response(items)
    }

    @Sendable func leadMessages(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap(TenantID.parse) else { throw APIError.notFound }
        let page = try Page(request)
        guard let items = try await database.messages(leadID: id, limit: page.limit, before: page.before) else { throw APIError.notFound }
        return page.response(items, extra: ["lead_id": .int(id)])
    }

    @Sendable func webhookEvents(_ request: Request, context: AppRequestContext) async throws -> Response {
        let page = try Page(request)
        let items = try await database.webhookEvents(tenant: try optionalTenant(request), limit: page.limit, before: page.before)
        return page.response(items)
    }

    @Sendable func inbox(_ request: Request, context: AppRequestContext) async throws -> Response {
        let status = try statusFilter(request, allowed: ["pending", "done", "parked"])
        let page = try Page(request)
        let depth = try await database.queueDepths(table: .inbox)
        let items = try await database.inboxJobs(tenant: try optionalTenant(request), status: status, limit: page.limit, before: page.before)
        return page.response(items, extra: ["depth": .object(depth.mapValues { .int(Int64($0)) })])
    }

    @Sendable func outbox(_ request: Request, context: AppRequestContext) async throws -> Response {
        let status = try statusFilter(request, allowed: ["queued", "sent", "failed", "skipped"])
        let page = try Page(request)
        let items = try await database.outboxJobs(tenant: try optionalTenant(request), status: status, limit: page.limit, before: page.before)
        let depth = try await database.queueDepths(table: .outbox)
        return page.response(items, extra: ["depth": .object(depth.mapValues { .int(Int64($0)) })])
    }

    @Sendable func outboxJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap(TenantID.parse),
              let job = try await database.outboxJob(id: id) else { throw APIError.notFound }
        return JSONResponse.make(job)
    }

    private func optionalTenant(_ request: Request) throws -> Int64? {
        guard let raw = request.uri.queryParameters.get("tenant"), !raw.isEmpty else { return nil }
        guard let tenant = TenantID.parse(raw) else { throw APIError.invalidTenant }
        return tenant
    }

    private func statusFilter(_ request: Request, allowed: Set<String>) throws -> String? {
        guard let raw = request.uri.queryParameters.get("status"), !raw.isEmpty else { return nil }
        guard allowed.contains(raw) else { throw APIError.invalidParameter("status") }
        return raw
    }

    /// `limit` and `before` of a list route.
    struct Page {
        var limit: Int
        var before: Int64?

        init(_ request: Request) throws {
            limit = try request.queryInt("limit", default: 50, range: 1...500)
            before = try request.uri.queryParameters.get("before").flatMap { raw in
                guard let id = TenantID.parse(raw) else { throw APIError.invalidParameter("before") }
                return id
            }
        }

        /// `{"ok":true,"items":[…],"next_before":<id of the last item, when the page is full>}`.
        func response(_ items: [JSONValue], extra: [String: JSONValue] = [:]) -> Response {
            var fields = extra
            fields["ok"] = true
            fields["items"] = .array(items)
            let last = items.last?["id"]
            fields["next_before"] = items.count == limit ? (last ?? .null) : .null
            return JSONResponse.make(.object(fields))
        }
    }
}
