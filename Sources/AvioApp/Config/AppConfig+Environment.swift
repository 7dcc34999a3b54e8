import Foundation
import Logging

extension AppConfig {
    /// The result of reading the environment: a config when nothing is fatal, and every problem found.
    public struct Loaded: Sendable {
        public var config: AppConfig?
        public var problems: [ConfigProblem]
        public var fatal: [ConfigProblem] { problems.filter { $0.severity == .fatal } }
        public var warnings: [ConfigProblem] { problems.filter { $0.severity == .warning } }
    }

    /// Reads every variable of CONTRACT §1 (the only place their names appear) and reports all problems at once.
    public static func load(from env: [String: String]) -> Loaded {
        var problems: [ConfigProblem] = []
        func value(_ names: String...) -> String? {
            for name in names {
                if let raw = env[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty { return raw }
            }
            return nil
        }
        func fatal(_ message: String) { problems.append(.init(severity: .fatal, message: message)) }
        func warn(_ message: String) { problems.append(.init(severity: .warning, message: message)) }
        func url(_ fallback: String, _ names: String...) -> URL {
            let name = names.first { value($0) != nil }
            let raw = name.flatMap { value($0) } ?? fallback
            guard let url = URL(string: raw), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil
            else {
                fatal("\(name ?? names[0])=\(raw) is not an http(s) URL")
                return URL(string: fallback)!
            }
            return url
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
            guard let raw = value(name) else { return fallback }
            guard let number = Int(raw), range.contains(number) else {
                fatal("\(name)=\(raw) is not an integer in \(range.lowerBound)...\(range.upperBound)")
                return fallback
            }
            return number
        }

        let port = integer("PORT", default: 8000, range: 0...65535)
        let host = value("HOST") ?? "0.0.0.0"
        let databasePath = databasePath(fromURL: value("DATABASE_URL") ?? "data/avio.sqlite")
        let publicKey = value("PUBLIC_KEY")
        let adminToken = value("ADMIN_TOKEN")
        let waWebToken = value("WA_WEB_TOKEN", "WEBHOOK_SECRET")
        let tgWorker = url("http://tgworker:9000", "TGWORKER_BASE_URL", "TG_WORKER_URL", "TGWORKER_URL")
        let waweb = url("http://waweb:9001", "WAWEB_BASE_URL", "WA_WEB_URL")
        let appBase = url("http://app:8000", "APP_BASE_URL")
        let qrTTL = integer("WA_QR_TTL_SECONDS", default: 180, range: 180...86_400)
        let timeout = integer("WORKER_TIMEOUT_SECONDS", default: 15, range: 1...300)

        var apiID: Int?
        if let raw = value("TELEGRAM_API_ID") {
            if let number = Int(raw), number > 0 { apiID = number } else { fatal("TELEGRAM_API_ID=\(raw) is not a positive integer") }
        }

        var outboxEnabled = false
        if let raw = value("OUTBOX_ENABLED") {
            switch raw.lowercased() {
            case "1", "true", "yes", "on": outboxEnabled = true
            case "0", "false", "no", "off": outboxEnabled = false
            default: fatal("OUTBOX_ENABLED=\(raw) is not a boolean (use true/false, 1/0, yes/no, on/off)")
            }
        }

        var level = Logger.Level.info
        if let raw = value("LOG_LEVEL") {
            if let parsed = Logger.Level(rawValue: raw.lowercased()) {
                level = parsed
            } else if raw.lowercased() == "warn" {
                level = .warning
            } else {
                fatal("LOG_LEVEL=\(raw) is not one of trace, debug, info, notice, warning, error, critical")
            }
        }
        var logJSON = false
        if let raw = value("LOG_FORMAT") {
            switch raw.lowercased() {
            case "json": logJSON = true
            case "text", "plain", "human": logJSON = false
            default: fatal("LOG_FORMAT=\(raw) is not one of text, json")
            }
        }

        // CONTRACT §1: fatal secret mismatches, loud compatibility warning.
        if adminToken == nil {
            warn("ADMIN_TOKEN is not set: /send, /admin/* and calls to the workers are refused until it is")
        }
        if let publicKey, let adminToken, publicKey == adminToken {
            fatal("PUBLIC_KEY must differ from ADMIN_TOKEN (the public key is handed to browsers)")
        }
        if publicKey == nil {
            warn("PUBLIC_KEY is not set: COMPATIBILITY MODE, /pub/* accepts ADMIN_TOKEN as ?k= — set a separate PUBLIC_KEY")
        }
        if let wawebAdmin = value("WAWEB_ADMIN_TOKEN"), wawebAdmin != adminToken {
            fatal("WAWEB_ADMIN_TOKEN is set and differs from ADMIN_TOKEN; they must be equal")
        }

        guard problems.allSatisfy({ $0.severity != .fatal }) else { return Loaded(config: nil, problems: problems) }
        let config = AppConfig(
            host: host, port: port, databasePath: databasePath,
            publicKey: publicKey, adminToken: adminToken, waWebToken: waWebToken,
            tgWorkerBaseURL: tgWorker, wawebBaseURL: waweb, appBaseURL: appBase,
            outboxEnabled: outboxEnabled, outboxWhitelist: Whitelist(value("OUTBOX_WHITELIST") ?? ""),
            tgSessionsDir: value("TG_SESSIONS_DIR") ?? "data/tg-sessions",
            telegramAPIID: apiID, telegramAPIHash: value("TELEGRAM_API_HASH"),
            logLevel: level, logJSON: logJSON, waQRTTLSeconds: qrTTL, workerTimeoutSeconds: timeout
        )
        return Loaded(config: config, problems: problems)
    }

    /// `DATABASE_URL` forms (§1): a plain path, `sqlite:///abs/path`, `sqlite://relative/path`, or `:memory:`.
    public static func databasePath(fromURL raw: String) -> String {
        for prefix in ["sqlite+aiosqlite://", "sqlite://"] where raw.hasPrefix(prefix) {
            let rest = String(raw.dropFirst(prefix.count))
            return rest.isEmpty ? ":memory:" : rest
        }
        return raw
    }
}
