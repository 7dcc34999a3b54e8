import Foundation

/// A sliding-window limit on attempts per key (2FA: at most 5 a minute per tenant and per client IP, CONTRACT §4).
public actor AttemptLimiter {
    private let limit: Int
    private let window: TimeInterval
    private let clock: any AppClock
    private var attempts: [String: [Date]] = [:]

    public init(limit: Int = 5, window: TimeInterval = 60, clock: any AppClock) {
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    /// Records an attempt under every key, or refuses without recording: returns the seconds to wait when any key
    /// is over its limit, `nil` when the attempt may proceed.
    public func attempt(keys: [String]) -> Int? {
        let now = clock.now()
        var wait = 0
        for key in keys {
            let recent = (attempts[key] ?? []).filter { now.timeIntervalSince($0) < window }
            attempts[key] = recent
            if recent.count >= limit, let oldest = recent.first {
                wait = max(wait, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
            }
        }
        if wait > 0 { return max(1, wait) }
        for key in keys { attempts[key, default: []].append(now) }
        if attempts.count > 10_000 { attempts = attempts.filter { !$0.value.isEmpty } }
        return nil
    }
}

/// Logs a deprecation warning at most once per interval per route (CONTRACT §4, §9).
public actor DeprecationLog {
    private let clock: any AppClock
    private let interval: TimeInterval
    private var lastLogged: [String: Date] = [:]

    public init(clock: any AppClock, interval: TimeInterval = 3600) {
        self.clock = clock
        self.interval = interval
    }

    /// True when the caller should log now (and records that it did).
    public func shouldLog(route: String) -> Bool {
        let now = clock.now()
        if let last = lastLogged[route], now.timeIntervalSince(last) < interval { return false }
        lastLogged[route] = now
        return true
    }
}
