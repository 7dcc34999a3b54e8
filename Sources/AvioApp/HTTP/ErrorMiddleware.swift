import HTTPTypes
import Hummingbird
import Logging

/// Turns every error into the JSON catalogue shape and logs unexpected ones once, centrally (STYLE §5).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try APIError.catalogued(error, path: request.uri.path, logger: context.logger).response(from: request, context: context)
        }
    }
}

extension APIError {
    /// The catalogue entry for any error: `APIError`s as they are, Hummingbird's `HTTPError`s by status, anything else
    /// `500 internal_error`. Unexpected errors are logged here, with their details, and never reach the client.
    static func catalogued(_ error: any Error, path: String, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            if error.status.code >= 500 { logger.error("unexpected HTTP error", metadata: ["status": "\(error.status.code)", "path": "\(path)"]) }
            return switch error.status {
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .contentTooLarge: .payloadTooLarge
            case .badRequest: .invalidJSON
            default: APIError(error.status, error.status.code >= 500 ? "internal_error" : "bad_request")
            }
        default:
            logger.error("unhandled error", metadata: ["path": "\(path)", "error": "\(String(reflecting: error))"])
            return .internalError
        }
    }
}
