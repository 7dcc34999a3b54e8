import Foundation

/// The Telegram login state as the worker reports it (CONTRACT §4), before our routes shape it.
public struct TelegramStatus: Sendable, Equatable {
    public var state: String
    public var authorized: Bool
    public var needs2FA: Bool
    public var qrID: String?
    /// Epoch milliseconds.
    public var expiresAt: Int64?
    public var lastError: String?
    public var authorizedCount: Int64
    public var waitingCount: Int64
    public var needs2FACount: Int64

    public init(state: String, authorized: Bool = false, needs2FA: Bool = false, qrID: String? = nil, expiresAt: Int64? = nil,
                lastError: String? = nil, authorizedCount: Int64 = 0, waitingCount: Int64 = 0, needs2FACount: Int64 = 0) {
        self.state = state
        self.authorized = authorized
        self.needs2FA = needs2FA
        self.qrID = qrID
        self.expiresAt = expiresAt
        self.lastError = lastError
        self.authorizedCount = authorizedCount
        self.waitingCount = waitingCount
        self.needs2FACount = needs2FACount
    }
}

/// Everything Avio asks of Telegram. Today the Telegram worker over HTTP; later an embedded MTProto client.
/// Routes never know which one they talk to (STYLE §7).
public protocol TelegramGateway: Sendable {
    /// Starts (or with `force`, restarts) a QR login and returns the new status.
    func startLogin(tenant: Int64, force: Bool) async throws -> TelegramStatus
    func status(tenant: Int64) async throws -> TelegramStatus
    /// The raw `tg://login?token=…` URL of a pending QR, when the gateway can tell it (`nil` otherwise).
    func qrLoginURL(tenant: Int64, qrID: String) async throws -> String?
    /// A PNG of the QR rendered by the gateway itself (fallback when no login URL is known).
    func qrPNG(tenant: Int64, qrID: String) async throws -> [UInt8]
    func submitPassword(tenant: Int64, password: String) async throws -> TelegramStatus
    func logout(tenant: Int64) async throws
    func send(_ message: OutboundMessage) async throws -> DeliveryReceipt
}
