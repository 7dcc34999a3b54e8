import Foundation
import Hummingbird

/// `/pub/tg/*` (CONTRACT §4): the Telegram QR login flow behind a `TelegramGateway`.
struct TelegramLoginController: Sendable {
    let telegram: any TelegramGateway
    let limiter: AttemptLimiter
    let metrics: AppMetrics
    let clock: any AppClock
    let transitions: LoginTransitions

    /// `GET /pub/tg/start[?force=1]`: a fresh QR.
    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        let force = ["1", "true", "yes"].contains(request.uri.queryParameters.get("force")?.lowercased() ?? "")
        let status: TelegramStatus
        do {
            status = try await telegram.startLogin(tenant: tenant, force: force)
        } catch {
            // §4: on start, an expired QR means no fresh one could be issued: 502, not 410.
            let mapped = map(error, tenant: tenant, context: context)
            throw mapped == .qrExpired ? .qrExpiredOnStart : mapped
        }
        let shaped = shape(status)
        metrics.tgLogin(event: "start")
        await transitions.observe(tenant: tenant, state: shaped.state)
        if shaped.state == "authorized", !force { throw APIError.alreadyAuthorized }
        guard shaped.state == "need_qr", shaped.qrID != nil else {
            metrics.tgLogin(event: "qr_expired")
            throw APIError.qrExpiredOnStart
        }
        return JSONResponse.make(statusBody(shaped, tenant: tenant, key: request.uri.queryParameters.get("k") ?? ""))
    }

    /// `GET /pub/tg/status`.
    @Sendable func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        let status: TelegramStatus
        do {
            status = try await telegram.status(tenant: tenant)
        } catch {
            throw map(error, tenant: tenant, context: context)
        }
        await transitions.observe(tenant: tenant, state: shape(status).state)
        return JSONResponse.make(statusBody(shape(status), tenant: tenant, key: request.uri.queryParameters.get("k") ?? ""))
    }

    /// `GET /pub/tg/qr.png?qr_id=`: rendered here from the login URL, else the worker's own PNG.
    @Sendable func qrPNG(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        guard let qrID = request.uri.queryParameters.get("qr_id"), !qrID.isEmpty else { throw APIError.missingQRID }
        guard qrID.count <= 256 else { throw APIError.qrNotFound }
        let png: [UInt8]
        do {
            let current = shape(try await telegram.status(tenant: tenant))
            if current.qrID == qrID, current.state == "failed" || current.lastError == "qr_expired" { throw APIError.qrExpired }
            if current.qrID == qrID, current.state == "need_qr", let url = try await telegram.qrLoginURL(tenant: tenant, qrID: qrID),
               let code = QRCode(url) {
                png = code.png(scale: 8)
            } else {
                png = try await telegram.qrPNG(tenant: tenant, qrID: qrID)
                guard png.starts(with: [0x89, 0x50, 0x4E, 0x47]) else { throw APIError.tgUnavailable }
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw map(error, tenant: tenant, context: context)
        }
        return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// `POST /pub/tg/2fa` body `{"tenant":1,"password":"…"}`; limited to 5 attempts a minute per tenant and per IP.
    @Sendable func submitPassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.jsonBody()
        guard body.objectValue != nil else { throw APIError.invalidPayload("body") }
        let queryTenant = request.uri.queryParameters.get("tenant")
        let tenant: Int64
        if let value = body["tenant"], !value.isNull {
            guard let parsed = TenantID.parse(value) else { throw APIError.invalidTenantInBody }
            if let queryTenant, TenantID.parse(queryTenant) != parsed { throw APIError.invalidTenant }
            tenant = parsed
        } else {
            tenant = try request.queryTenant()
        }
        context.notes.set("tenant", String(tenant))
        guard let password = body["password"]?.stringValue, !password.isEmpty, password.count <= 256 else {
            throw APIError.invalidPayload("password")
        }
        var keys = ["tenant:\(tenant)"]
        if let ip = context.remoteIP { keys.append("ip:\(ip)") }
        if let wait = await limiter.attempt(keys: keys) {
            context.logger.warning("2fa attempts limited", metadata: ["tenant": "\(tenant)"])
            throw APIError.tooManyAttempts(retryAfter: wait)
        }
        let status: TelegramStatus
        do {
            status = try await telegram.submitPassword(tenant: tenant, password: password)
        } catch {
            throw map(error, tenant: tenant, context: context)
        }
        await transitions.observe(tenant: tenant, state: shape(status).state)
        return JSONResponse.make(statusBody(shape(status), tenant: tenant, key: request.uri.queryParameters.get("k") ?? ""))
    }

    /// `POST /pub/tg/logout`.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let tenant = try request.queryTenant()
        do {
            try await telegram.logout(tenant: tenant)
        } catch {
            throw map(error, tenant: tenant, context: context)
        }
        metrics.tgLogin(event: "logout")
        return JSONResponse.make(["ok": true])
    }

    // MARK: - Shaping

    /// Applies the clock: a pending QR past `expires_at` is reported as `failed` / `qr_expired`.
    func shape(_ status: TelegramStatus) -> TelegramStatus {
        var status = status
        if status.state == "need_qr", let expires = status.expiresAt, expires <= Timestamp.millis(clock.now()) {
            status.state = "failed"
            status.lastError = status.lastError ?? "qr_expired"
        }
        if status.state == "need_2fa" { status.needs2FA = true }
        return status
    }

    /// The status body of §4; `qr_id`, `qr_url`, `expires_at` are null outside `need_qr`.
    func statusBody(_ status: TelegramStatus, tenant: Int64, key: String) -> JSONValue {
        let pending = status.state == "need_qr" ? status.qrID : nil
        let qrURL = pending.map { "/pub/tg/qr.png?" + QueryString.encode([("tenant", String(tenant)), ("qr_id", $0), ("k", key)]) }
        return [
            "ok": true, "tenant": .int(tenant), "state": .string(status.state), "authorized": .bool(status.state == "authorized"),
            "needs_2fa": .bool(status.state == "need_2fa"), "qr_id": .string(pending), "qr_url": .string(qrURL),
            "expires_at": pending == nil ? .null : .int(status.expiresAt), "last_error": .string(status.lastError),
            "authorized_count": .int(status.authorizedCount), "waiting_count": .int(status.waitingCount),
            "needs_2fa_count": .int(status.needs2FACount),
        ]
    }

    /// Worker errors → the codes of §4; anything else is `502 tg_unavailable`.
    func map(_ error: any Error, tenant: Int64, context: AppRequestContext) -> APIError {
        guard case GatewayError.rejected(let status, let code, let retryAfter, _) = error else {
            metrics.gatewayError(provider: "telegram", code: "unreachable")
            context.logger.warning("telegram gateway unavailable", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
            return .tgUnavailable
        }
        switch (status, code) {
        case (409, "already_authorized"): return .alreadyAuthorized
        case (410, _), (_, "qr_expired"):
            metrics.tgLogin(event: "qr_expired")
            return .qrExpired
        case (404, _): return .qrNotFound
        case (401, "bad_password"), (400, "bad_password"), (403, "bad_password"):
            metrics.tgLogin(event: "bad_password")
            return .badPassword
        case (409, "not_waiting_2fa"): return .notWaiting2FA
        case (429, _):
            let seconds = retryAfter ?? 60
            return APIError(.tooManyRequests, "flood_wait", extra: ["retry_after": .int(Int64(seconds))], headers: [.retryAfter: String(seconds)])
        default:
            metrics.gatewayError(provider: "telegram", code: code)
            context.logger.warning("telegram gateway error", metadata: ["tenant": "\(tenant)", "status": "\(status)", "code": "\(code)"])
            return .tgUnavailable
        }
    }
}

/// Counts `tg_login_total{event}` once per state change per tenant (polling `status` must not inflate it).
actor LoginTransitions {
    private let metrics: AppMetrics
    private var last: [Int64: String] = [:]

    init(metrics: AppMetrics) { self.metrics = metrics }

    func observe(tenant: Int64, state: String) {
        guard last[tenant] != state else { return }
        last[tenant] = state
        switch state {
        case "need_2fa": metrics.tgLogin(event: "need_2fa")
        case "authorized": metrics.tgLogin(event: "success")
        default: break
        }
    }
}
