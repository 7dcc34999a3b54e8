import Logging
import ServiceLifecycle

/// Wakes a background worker as soon as there is new work (a committed webhook, a queued send), so it need not
/// poll SQLite in a tight loop. Workers still wake after `timeout` to pick up retries that became due (and, for the
/// outbox, expired leases).
public actor WorkSignal {
    private var pending = false
    private var waiter: CheckedContinuation<Void, Never>?

    public init() {}

    /// Records that work is available; wakes the waiting worker if there is one.
    public func notify() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            pending = true
        }
    }

    /// Returns when notified (or if a notification arrived since the last wait), or after `timeout`, or when the
    /// calling task is cancelled.
    public func wait(timeout: Duration) async {
        if pending {
            pending = false
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.notify()  // also on cancellation: never leave the other child suspended
            }
            await group.next()
            group.cancelAll()
        }
        pending = false
    }

    private func suspend() async {
        await withCheckedContinuation { continuation in
            if pending {
                pending = false
                continuation.resume()
            } else {
                waiter = continuation
            }
        }
    }
}

extension WorkSignal {
    /// The loop of a queue worker (inbox, outbox): run `pass` until graceful shutdown; when a pass finds nothing to
    /// do, wait for this signal or `idle`. A failing pass is logged and retried after the wait, never fatal.
    func drive(name: String, idle: Duration, logger: Logger, pass: @escaping @Sendable () async throws -> Int) async {
        logger.info("\(name) worker started")
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let handled: Int
                do {
                    handled = try await pass()
                } catch {
                    if Task.isCancelled { break }
                    logger.error("\(name) worker pass failed", metadata: ["error": "\(error)"])
                    handled = 0
                }
                if handled == 0 { await self.wait(timeout: idle) }
                try Task.checkCancellation()
            }
        }
        logger.info("\(name) worker stopped")
    }
}
