import Hummingbird

/// Provider tokens (CONTRACT §3): the per-tenant webhook credentials.
struct ProviderTokenController: Sendable {
    let database: AppDatabase
    let clock: any AppClock
    let resumer: SessionResumer

    /// `POST /internal/tenant/{tenant}/ensure` (internal token; optional body `{"source":"waweb"}`).
    @Sendable func ensure(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.pathTenant()
        let body = try await request.optionalJSONBody()
        guard body.objectValue != nil else { throw APIError.invalidPayload("body") }
        if let source = body["source"], source.stringValue == nil, !source.isNull { throw APIError.invalidPayload("source") }
        let (token, created) = try await database.ensureProviderToken(tenant: tenant, now: clock.now())
        if created { announce(tenant: tenant, context: context, via: "ensure") }
        return JSONResponse.make(["ok": true, "tenant": .int(tenant), "provider_token": .string(token.token)])
    }

    /// `GET /admin/provider-token/{tenant}`: the token, created when missing.
    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.pathTenant()
        let (token, created) = try await database.ensureProviderToken(tenant: tenant, now: clock.now())
        if created { announce(tenant: tenant, context: context, via: "admin") }
        return JSONResponse.make(Self.json(token))
    }

    /// `GET /admin/keys/list?tenant=`: the tenant's token or `404 not_found`; without `tenant`, every tenant.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard request.uri.queryParameters.get("tenant") != nil else {
            let tokens = try await database.providerTokens()
            return JSONResponse.make(["ok": true, "items": .array(tokens.map(Self.json))])
        }
        let tenant = try request.queryTenant()
        guard let token = try await database.providerToken(tenant: tenant) else { throw APIError.notFound }
        return JSONResponse.make(Self.json(token))
    }

    /// `POST /admin/provider-token/{tenant}/rotate`: a new token; the old one stops working at once.
    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try context.pathTenant()
        let token = try await database.rotateProviderToken(tenant: tenant, now: clock.now())
        context.logger.notice("provider token rotated", metadata: ["tenant": "\(tenant)"])
        return JSONResponse.make(Self.json(token))
    }

    private func announce(tenant: Int64, context: AppRequestContext, via: String) {
        context.logger.notice("provider token created", metadata: ["tenant": "\(tenant)", "via": "\(via)"])
        resumer.resume(tenant: tenant)
    }

    static func json(_ token: ProviderToken) -> JSONValue {
        ["ok": true, "tenant": .int(token.tenant), "provider_token": .string(token.token), "created_at": .string(token.createdAt)]
    }
}
