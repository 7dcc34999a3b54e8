import AsyncHTTPClient
import Foundation
import GRDB
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The work behind each subcommand, kept in the library so the executable stays a thin parser (STYLE §1).
public enum Commands {
    /// Reads the environment, prints every problem, and returns the config or nil (fatal problems).
    public static func loadConfig(_ env: [String: String] = ProcessInfo.processInfo.environment) -> AppConfig? {
        let loaded = AppConfig.load(from: env)
        for problem in loaded.problems { FileHandle.standardError.write(Data("avio: \(problem)\n".utf8)) }
        if loaded.config == nil {
            FileHandle.standardError.write(Data("avio: configuration has \(loaded.fatal.count) fatal problem(s); not starting\n".utf8))
        }
        return loaded.config
    }

    /// `avio serve`: HTTP API + inbox worker + outbox worker + session resumer, until SIGTERM/SIGINT.
    public static func serve(config: AppConfig) async throws {
        LoggingSetup.bootstrap(json: config.logJSON, level: config.logLevel)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: "avio")
        logger.logLevel = config.logLevel
        let started = ContinuousClock.now
        let lock = try ServeLock.acquire(databasePath: config.databasePath)
        defer { withExtendedLifetime(lock) {} }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(timeout: .init(connect: .seconds(2))))
        do {
            let dependencies = try AppDependencies.live(config: config, httpClient: httpClient, metrics: AppMetrics(registry: registry))
            let released = try dependencies.database.releaseStaleLeases()
            if released.inbox + released.outbox > 0 {
                logger.notice("released jobs left leased by a previous process", metadata: [
                    "inbox": "\(released.inbox)", "outbox": "\(released.outbox)"])
            }
            logger.info("avio starting", metadata: [
                "database": "\(config.databasePath)", "address": "\(config.host):\(config.port)",
                "outbox_enabled": "\(config.outboxEnabled)", "whitelist_entries": "\(config.outboxWhitelist.entries.count)",
                "tgworker": "\(config.tgWorkerBaseURL.absoluteString)", "waweb": "\(config.wawebBaseURL.absoluteString)",
                "admin_token": "\(Secrets.mask(config.adminToken))", "public_key": "\(Secrets.mask(config.publicKey))",
            ])
            let appLogger = logger
            let (app, _) = buildApplication(config: config, dependencies: dependencies, logger: logger) { port in
                appLogger.info("avio listening", metadata: ["port": "\(port)", "startup_ms": "\((ContinuousClock.now - started).milliseconds)"])
            }
            try await app.runService()
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    /// `avio migrate`: applies migrations and prints the structure of `leads`, `messages` and the columns of `contacts`.
    public static func migrate(databasePath: String) throws -> String {
        let database = try AppDatabase(path: databasePath)
        return try database.writer.read { db in
            var out = "database: \(databasePath)\n"
            let applied = try Row.fetchAll(db, sql: "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
            out += "migrations applied: " + applied.map { "\($0["version"] as Int)_\($0["name"] as String)" }.joined(separator: ", ") + "\n"
            for table in ["leads", "messages"] {
                out += "\ntable \(table):\n"
                for column in try Migrations.describe(db, table: table) {
                    out += "  \(column.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(column.type)"
                        + (column.primaryKey ? " PRIMARY KEY" : "") + (column.notNull ? " NOT NULL" : "") + "\n"
                }
                let indexes = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_list(?) ORDER BY name", arguments: [table])
                out += "  indexes: " + indexes.joined(separator: ", ") + "\n"
            }
            out += "\ncontacts columns: " + (try Migrations.describe(db, table: "contacts").map(\.name).joined(separator: ", ")) + "\n"
            return out
        }
    }

    /// `avio backup PATH`: a consistent copy of the live database.
    public static func backup(databasePath: String, to destination: String) throws {
        let database = try AppDatabase(path: databasePath)
        try database.backup(to: destination)
    }

    /// `avio diag`: configuration and database checks, one line each; returns false when something failed.
    public static func diag(env: [String: String] = ProcessInfo.processInfo.environment) -> (ok: Bool, report: String) {
        var lines: [String] = []
        var ok = true
        let loaded = AppConfig.load(from: env)
        if loaded.problems.isEmpty { lines.append("✓ configuration: no problems") }
        for problem in loaded.problems {
            lines.append("\(problem.severity == .fatal ? "✗" : "!") configuration: \(problem.message)")
            if problem.severity == .fatal { ok = false }
        }
        guard let config = loaded.config else { return (false, lines.joined(separator: "\n")) }
        lines.append("✓ outbox: \(config.outboxEnabled ? "ENABLED" : "disabled"), whitelist \(config.outboxWhitelist.allowsAll ? "*" : "\(config.outboxWhitelist.entries.count) entries")")
        do {
            let database = try AppDatabase(path: config.databasePath)
            let integrity = try database.integrityCheck()
            let mode = try database.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "?" }
            let tenants = try database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM provider_tokens") ?? 0 }
            lines.append("\(integrity == "ok" ? "✓" : "✗") database \(config.databasePath): integrity \(integrity), journal \(mode), \(tenants) tenant(s)")
            if integrity != "ok" { ok = false }
        } catch {
            lines.append("✗ database \(config.databasePath): \(error)")
            ok = false
        }
        return (ok, lines.joined(separator: "\n"))
    }
}
