import Foundation
import Logging

/// `LOG_FORMAT=json`: one JSON object per line on stderr (`ts`, `level`, `logger`, `msg`, metadata fields).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: JSONValue] = [
            "ts": .string(Timestamp.iso(Date())), "level": .string(event.level.rawValue), "logger": .string(label),
            "msg": .string(event.message.description),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            fields[key] = .string(value.description)
        }
        let line = JSONValue.object(fields).jsonString + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Sets up process-wide logging once, for `avio serve` and the other subcommands.
public enum LoggingSetup {
    public static func bootstrap(json: Bool, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
