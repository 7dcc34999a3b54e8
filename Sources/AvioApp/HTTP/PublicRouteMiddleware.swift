import HTTPTypes
import Hummingbird
import Logging

/// Headers of the public routes (CONTRACT §4, §5.4): `Cache-Control: no-store` on every answer, errors included;
/// for the deprecated `/pub/tg/*` also `Deprecation: true` and a warning logged at most once an hour per route.
struct PublicRouteMiddleware<Context: RequestContext>: RouterMiddleware {
    let deprecations: DeprecationLog?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let deprecations, let route = context.endpointPath, await deprecations.shouldLog(route: route) {
            context.logger.warning("deprecated route used: /pub/tg/* is the historical Telegram login API, kept for compatibility",
                                   metadata: ["route": "\(route)"])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Rendered here, not by ErrorMiddleware, so that error answers carry the headers below too.
            response = try APIError.catalogued(error, path: request.uri.path, logger: context.logger).response(from: request, context: context)
        }
        response.headers[.cacheControl] = "no-store"
        if deprecations != nil, let name = HTTPField.Name("Deprecation") { response.headers[name] = "true" }
        return response
    }
}
