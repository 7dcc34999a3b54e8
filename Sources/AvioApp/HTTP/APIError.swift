import HTTPTypes
import Hummingbird

/// The one error catalogue (STYLE §4): every error answer is `{"ok":false,"error":"<code>"}` plus the fields the
/// contract names. Nothing internal (SQL, paths, stack traces) ever reaches a response.
public struct APIError: HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var extra: [String: JSONValue] = [:]
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, extra: [String: JSONValue] = [:], headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.extra = extra
        self.headers = headers
    }

    /// The JSON body of this error.
    public var body: JSONValue {
        var fields = extra
        fields["ok"] = false
        fields["error"] = .string(code)
        return .object(fields)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(body, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }

    // MARK: - General (§2, §5.1, STYLE)
    public static let invalidJSON = APIError(.badRequest, "invalid_json")
    public static let notFound = APIError(.notFound, "not_found")
    public static let methodNotAllowed = APIError(.methodNotAllowed, "method_not_allowed")
    public static let payloadTooLarge = APIError(.contentTooLarge, "payload_too_large")
    public static let invalidTenant = APIError(.badRequest, "invalid_tenant")
    public static let invalidTenantInBody = APIError(.unprocessableContent, "invalid_tenant")
    public static let unauthorized = APIError(.unauthorized, "unauthorized")
    public static let invalidKey = APIError(.unauthorized, "invalid_key")
    public static let internalError = APIError(.internalServerError, "internal_error")
    public static let unavailable = APIError(.serviceUnavailable, "db_unavailable")
    public static func invalidPayload(_ detail: String) -> APIError {
        APIError(.unprocessableContent, "invalid_payload", extra: ["detail": .string(detail)])
    }
    public static func invalidParameter(_ name: String) -> APIError {
        APIError(.badRequest, "invalid_parameter", extra: ["detail": .string(name)])
    }

    // MARK: - Webhook and WhatsApp (§5)
    public static let invalidQR = APIError(.unprocessableContent, "invalid_qr")
    public static let qrNotFound = APIError(.notFound, "qr_not_found")
    public static let waUnavailable = APIError(.badGateway, "wa_unavailable")

    // MARK: - Telegram login (§4)
    public static let alreadyAuthorized = APIError(.conflict, "already_authorized")
    public static let qrExpiredOnStart = APIError(.badGateway, "qr_expired")
    public static let qrExpired = APIError(.gone, "qr_expired")
    public static let missingQRID = APIError(.badRequest, "missing_qr_id")
    public static let tgUnavailable = APIError(.badGateway, "tg_unavailable")
    public static let badPassword = APIError(.unauthorized, "bad_password")
    public static let notWaiting2FA = APIError(.conflict, "not_waiting_2fa")
    public static func tooManyAttempts(retryAfter seconds: Int) -> APIError {
        APIError(.tooManyRequests, "too_many_attempts", extra: ["retry_after": .int(Int64(seconds))],
                 headers: [.retryAfter: String(seconds)])
    }

    // MARK: - Outbound (§6)
    public static let outboxDisabled = APIError(.forbidden, "outbox_disabled")
    public static let invalidTo = APIError(.unprocessableContent, "invalid_to")
    public static let notWhitelisted = APIError(.forbidden, "not_whitelisted")
    public static let workerUnreachable = APIError(.badGateway, "worker_unreachable")
    public static let reloginRequired = APIError(.conflict, "relogin_required")
}
