import ArgumentParser
import AvioApp
import Foundation

/// `avio`: the Avio messaging gateway. Parses arguments and delegates to `AvioApp.Commands` (STYLE §1).
@main
struct AvioCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "avio",
        abstract: "Avio: a self-hosted Telegram + WhatsApp messaging gateway on SQLite.",
        discussion: "Configuration comes from environment variables (PORT, DATABASE_URL, ADMIN_TOKEN, PUBLIC_KEY, …); see README.md.",
        subcommands: [Serve.self, Migrate.self, Backup.self, Diag.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP API, the inbox worker and the outbox worker (the default).",
        discussion: "Listens on HOST:PORT (default 0.0.0.0:8000), applies migrations to DATABASE_URL (default data/avio.sqlite) and serves until SIGTERM/SIGINT."
    )

    func run() async throws {
        guard let config = Commands.loadConfig() else { throw ExitCode(2) }
        try await Commands.serve(config: config)
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply database migrations and print the structure of leads, messages and contacts.",
        discussion: "Uses DATABASE_URL (a path, sqlite:///abs/path or sqlite://relative/path; default data/avio.sqlite)."
    )

    func run() throws {
        let path = AppConfigPaths.database()
        print(try Commands.migrate(databasePath: path), terminator: "")
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a consistent copy of the database to PATH, safe while the server runs (VACUUM INTO).",
        discussion: "The copy is a normal SQLite file: restore by stopping avio and copying it to DATABASE_URL."
    )

    @Argument(help: "Destination file; must not exist yet.")
    var path: String

    func run() throws {
        try Commands.backup(databasePath: AppConfigPaths.database(), to: path)
        print("backup written to \(path)")
    }
}

struct Diag: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and the database; exit non-zero when something is wrong."
    )

    func run() throws {
        let (ok, report) = Commands.diag()
        print(report)
        if !ok { throw ExitCode.failure }
    }
}

/// The database path from `DATABASE_URL`, for subcommands that need nothing else.
enum AppConfigPaths {
    static func database() -> String {
        let raw = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "data/avio.sqlite"
        return AppConfig.databasePath(fromURL: raw)
    }
}
