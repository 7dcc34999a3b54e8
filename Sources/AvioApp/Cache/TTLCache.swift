import Foundation

/// The in-memory TTL cache that replaces Redis (CONTRACT §5.4). Values expire `ttl` seconds after they were set,
/// measured on the injected clock; expired entries are dropped on access and by `sweep()`.
public actor TTLCache<Value: Sendable> {
    private var entries: [String: (value: Value, expires: Date)] = [:]
    private let clock: any AppClock
    /// Bound on entries, so a flood of distinct keys cannot grow memory without limit.
    private let capacity: Int

    public init(clock: any AppClock, capacity: Int = 10_000) {
        self.clock = clock
        self.capacity = capacity
    }

    public func set(_ key: String, _ value: Value, ttl: TimeInterval) {
        let now = clock.now()
        if entries.count >= capacity, entries[key] == nil { sweep(now: now) }
        if entries.count >= capacity, let oldest = entries.min(by: { $0.value.expires < $1.value.expires })?.key {
            entries.removeValue(forKey: oldest)
        }
        entries[key] = (value, now.addingTimeInterval(ttl))
    }

    public func get(_ key: String) -> Value? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > clock.now() else {
            entries.removeValue(forKey: key)
            return nil
        }
        return entry.value
    }

    public func remove(_ key: String) { entries.removeValue(forKey: key) }

    /// Drops every expired entry.
    public func sweep() { sweep(now: clock.now()) }

    private func sweep(now: Date) { entries = entries.filter { $0.value.expires > now } }

    public var count: Int { entries.count }
}
