import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into the JSON catalogue shape and logs unexpected ones once, centrally (STYLE §5).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let mapped: APIError = switch error.status {
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .contentTooLarge: .payloadTooLarge
            case .badRequest: .invalidJSON
            default: APIError(error.status, error.status.code >= 500 ? "internal_error" : "bad_request")
            }
            if error.status.code >= 500 {
                context.logger.error("unexpected HTTP error", metadata: ["status": "\(error.status.code)"])
            }
            return try mapped.response(from: request, context: context)
        } catch {
            // Never leak internals: log the type and message here, answer a bare code.
            context.logger.error("unhandled error", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return try APIError.internalError.response(from: request, context: context)
        }
    }
}
