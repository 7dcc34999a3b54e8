import Foundation
import Synchronization

/// Wall-clock time, injected so that TTLs, backoff, rate limits and deprecation logs are testable (STYLE §7).
public protocol AppClock: Sendable {
    func now() -> Date
}

/// The real clock.
public struct SystemClock: AppClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that moves only when told to; for tests.
public final class ManualClock: AppClock {
    private let current: Mutex<Date>
    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }
    public func now() -> Date { current.withLock { $0 } }
    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// Formats times as CONTRACT §7 requires: ISO 8601 UTC, milliseconds when present.
public enum Timestamp {
    public static func iso(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Epoch milliseconds.
    public static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// Reads `ts` of a webhook: epoch seconds, epoch milliseconds (≥ 10¹¹), or ISO 8601.
    public static func parse(_ value: JSONValue?) -> Date? {
        switch value {
        case .int(let number): return fromEpoch(Double(number))
        case .double(let number): return fromEpoch(number)
        case .string(let text):
            if let number = Double(text) { return fromEpoch(number) }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
            return try? Date(text, strategy: Date.ISO8601FormatStyle())
        default: return nil
        }
    }

    private static func fromEpoch(_ number: Double) -> Date? {
        guard number.isFinite, number > 0, number < 1e14 else { return nil }
        return Date(timeIntervalSince1970: number >= 1e11 ? number / 1000 : number)
    }
}
