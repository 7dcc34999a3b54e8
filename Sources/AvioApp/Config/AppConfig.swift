import Foundation
import Logging

/// Everything the process is configured with, already validated (CONTRACT §1).
///
/// The rest of the code receives an `AppConfig`, never the environment: every variable name lives in
/// `AppConfig+Environment.swift`.
public struct AppConfig: Sendable {
    public var host: String
    public var port: Int
    /// Path of the SQLite file, or `:memory:`.
    public var databasePath: String
    /// Key for `/pub/*` routes; `nil` means compatibility mode (the admin token is accepted instead, §2.1).
    public var publicKey: String?
    public var adminToken: String?
    /// Shared secret with the WhatsApp worker (`WA_WEB_TOKEN`, else `WEBHOOK_SECRET`).
    public var waWebToken: String?
    public var tgWorkerBaseURL: URL
    public var wawebBaseURL: URL
    public var appBaseURL: URL
    public var outboxEnabled: Bool
    public var outboxWhitelist: Whitelist
    public var tgSessionsDir: String
    public var telegramAPIID: Int?
    public var telegramAPIHash: String?
    public var logLevel: Logger.Level
    /// `LOG_FORMAT=json` switches logs to JSON lines.
    public var logJSON: Bool
    /// TTL of cached WhatsApp QR codes; never below 180 s (§5.4).
    public var waQRTTLSeconds: Int
    /// Timeout of one call to a worker.
    public var workerTimeoutSeconds: Int

    /// A configuration for tests and tools: loopback, in-memory database, every secret set.
    public static func testing(
        databasePath: String = ":memory:",
        publicKey: String? = "test-public-key",
        adminToken: String? = "test-admin-token",
        waWebToken: String? = "test-waweb-token",
        tgWorkerBaseURL: URL = URL(string: "http://127.0.0.1:9")!,
        wawebBaseURL: URL = URL(string: "http://127.0.0.1:9")!,
        outboxEnabled: Bool = false,
        outboxWhitelist: Whitelist = Whitelist("")
    ) -> AppConfig {
        AppConfig(
            host: "127.0.0.1", port: 0, databasePath: databasePath,
            publicKey: publicKey, adminToken: adminToken, waWebToken: waWebToken,
            tgWorkerBaseURL: tgWorkerBaseURL, wawebBaseURL: wawebBaseURL,
            appBaseURL: URL(string: "http://app:8000")!,
            outboxEnabled: outboxEnabled, outboxWhitelist: outboxWhitelist,
            tgSessionsDir: "data/tg-sessions", telegramAPIID: nil, telegramAPIHash: nil,
            logLevel: .info, logJSON: false, waQRTTLSeconds: 180, workerTimeoutSeconds: 2
        )
    }

    /// The secret the WhatsApp worker and `/internal/*` callers present (§2.3): `WA_WEB_TOKEN`/`WEBHOOK_SECRET`,
    /// else the admin token.
    public var internalToken: String? { waWebToken ?? adminToken }
}

/// One problem found while reading the environment.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: Sendable { case fatal, warning }
    public var severity: Severity
    public var message: String
    public var description: String { "\(severity == .fatal ? "error" : "warning"): \(message)" }
}
