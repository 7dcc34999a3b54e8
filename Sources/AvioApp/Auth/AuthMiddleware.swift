import Hummingbird

/// The route guards of CONTRACT §2, one per kind of caller. The route table attaches them to route groups.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    enum Kind: Sendable {
        /// `/pub/*`: only `?k=`, equal to `PUBLIC_KEY` (or `ADMIN_TOKEN` in compatibility mode). §2.1
        case publicKey
        /// `/send`, `/admin/*`: header `X-Admin-Token`. §2.2
        case admin
        /// `/internal/*`: header `X-Auth-Token` or `?token=`. §2.3
        case `internal`
    }

    let kind: Kind
    let config: AppConfig

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch kind {
        case .publicKey:
            let expected = config.publicKey ?? config.adminToken
            guard Secrets.matches(request.uri.queryParameters.get("k"), expected: expected) else { throw APIError.invalidKey }
        case .admin:
            guard Secrets.matches(request.header("X-Admin-Token"), expected: config.adminToken) else { throw APIError.unauthorized }
        case .internal:
            let expected = config.internalToken
            guard Secrets.matches(request.header("X-Auth-Token"), expected: expected)
                || Secrets.matches(request.uri.queryParameters.get("token"), expected: expected)
            else { throw APIError.unauthorized }
        }
        return try await next(request, context)
    }
}
