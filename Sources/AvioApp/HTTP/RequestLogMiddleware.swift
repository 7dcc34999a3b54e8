import Hummingbird
import Logging
import NIOCore

/// One log line and one metrics sample per request (CONTRACT §9). Only the path is logged: query strings carry
/// secrets (`k=`, `token=`), and no header is logged.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let metrics: AppMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let route = context.endpointPath ?? "unmatched"
        metrics.httpRequest(method: request.method.rawValue, route: route, status: response.status.code, duration: elapsed)
        let level: Logger.Level = response.status.code >= 500 ? .error : (response.status.code >= 400 ? .notice : .info)
        guard context.logger.logLevel <= level else { return response }  // below the level: skip building the line
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "ms": "\(elapsed.milliseconds)",
        ]
        if let tenant = request.uri.queryParameters.get("tenant") ?? context.parameters.get("tenant") {
            metadata["tenant"] = "\(tenant.prefix(20))"
        }
        for (key, value) in context.notes.all { metadata[key] = "\(value)" }
        context.logger.log(level: level, "request", metadata: metadata)
        return response
    }
}

extension Duration {
    /// Whole milliseconds, for log lines.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
