import Testing

@testable import AvioApp

@Suite("Configuration (CONTRACT §1)")
struct AppConfigTests {
    @Test("defaults apply when nothing is set")
    func defaults() throws {
        let config = try #require(AppConfig.load(from: [:]).config)
        #expect(config.port == 8000)
        #expect(config.host == "0.0.0.0")
        #expect(config.databasePath == "data/avio.sqlite")
        #expect(config.tgWorkerBaseURL.absoluteString == "http://tgworker:9000")
        #expect(config.wawebBaseURL.absoluteString == "http://waweb:9001")
        #expect(config.appBaseURL.absoluteString == "http://app:8000")
        #expect(config.outboxEnabled == false)
        #expect(!config.outboxWhitelist.allowsAll && config.outboxWhitelist.entries.isEmpty)
        #expect(config.tgSessionsDir == "data/tg-sessions")
        #expect(config.waQRTTLSeconds == 180)
    }

    @Test("missing PUBLIC_KEY is a loud warning, not fatal")
    func compatibilityMode() {
        let loaded = AppConfig.load(from: ["ADMIN_TOKEN": "a"])
        #expect(loaded.config != nil)
        #expect(loaded.warnings.contains { $0.message.contains("COMPATIBILITY MODE") })
    }

    @Test("every fatal problem is reported at once")
    func allProblemsAtOnce() {
        let loaded = AppConfig.load(from: [
            "ADMIN_TOKEN": "same", "PUBLIC_KEY": "same", "WAWEB_ADMIN_TOKEN": "other", "PORT": "eighty",
            "TGWORKER_BASE_URL": "not a url", "OUTBOX_ENABLED": "maybe",
        ])
        #expect(loaded.config == nil)
        #expect(loaded.fatal.count == 5)
        let text = loaded.fatal.map(\.message).joined(separator: "\n")
        #expect(text.contains("PUBLIC_KEY must differ from ADMIN_TOKEN"))
        #expect(text.contains("WAWEB_ADMIN_TOKEN"))
        #expect(text.contains("PORT=eighty"))
        #expect(text.contains("TGWORKER_BASE_URL"))
        #expect(text.contains("OUTBOX_ENABLED"))
    }

    @Test("aliases and DATABASE_URL forms are understood")
    func aliases() throws {
        let config = try #require(AppConfig.load(from: [
            "TG_WORKER_URL": "http://tg:1", "WA_WEB_URL": "http://wa:2", "WEBHOOK_SECRET": "s", "OUTBOX_ENABLED": "yes",
            "OUTBOX_WHITELIST": "1 2,3", "DATABASE_URL": "sqlite:///var/lib/avio/a.sqlite", "WAWEB_ADMIN_TOKEN": "t",
            "ADMIN_TOKEN": "t",
        ]).config)
        #expect(config.tgWorkerBaseURL.absoluteString == "http://tg:1")
        #expect(config.wawebBaseURL.absoluteString == "http://wa:2")
        #expect(config.waWebToken == "s")
        #expect(config.outboxEnabled)
        #expect(config.outboxWhitelist.entries == ["1", "2", "3"])
        #expect(config.databasePath == "/var/lib/avio/a.sqlite")
        #expect(AppConfig.databasePath(fromURL: "sqlite://data/x.sqlite") == "data/x.sqlite")
    }

    @Test("WA_WEB_TOKEN wins over WEBHOOK_SECRET; the internal token falls back to ADMIN_TOKEN")
    func internalToken() throws {
        #expect(try #require(AppConfig.load(from: ["WA_WEB_TOKEN": "w", "WEBHOOK_SECRET": "s"]).config).internalToken == "w")
        #expect(try #require(AppConfig.load(from: ["ADMIN_TOKEN": "a"]).config).internalToken == "a")
    }

    @Test("WA QR TTL is never below 180 seconds")
    func ttlFloor() {
        #expect(AppConfig.load(from: ["WA_QR_TTL_SECONDS": "60"]).config == nil)
        #expect(AppConfig.load(from: ["WA_QR_TTL_SECONDS": "600"]).config?.waQRTTLSeconds == 600)
    }

    @Test("secrets compare only when equal and configured")
    func secrets() {
        #expect(Secrets.matches("abc", expected: "abc"))
        #expect(!Secrets.matches("abd", expected: "abc"))
        #expect(!Secrets.matches("ab", expected: "abc"))
        #expect(!Secrets.matches("abcd", expected: "abc"))
        #expect(!Secrets.matches("", expected: ""))
        #expect(!Secrets.matches("x", expected: nil))
        #expect(!Secrets.matches(nil, expected: "abc"))
    }
}
