import Logging
import Synchronization

/// Collects log lines so tests can assert what an operator would read (guards, job outcomes, deprecations).
final class LogRecorder: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    /// A logger whose every line (message plus sorted `key=value` metadata) lands here.
    var logger: Logger {
        var logger = Logger(label: "test") { _ in RecordingLogHandler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    /// Lines containing every fragment.
    func lines(containing fragments: String...) -> [String] {
        all.filter { line in fragments.allSatisfy { line.contains($0) } }
    }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
        recorder.append("\(event.level) \(event.message) \(fields)")
    }
}
