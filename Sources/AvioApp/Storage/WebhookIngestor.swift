import Dispatch
import Foundation
import Synchronization

/// Group commit for webhook events: concurrent requests share one SQLite transaction (one fsync) instead of
/// paying one each. Every caller still returns only after ITS event is committed, so "2xx means committed"
/// (CONTRACT §5.2) holds.
///
/// Callers append their event to a queue and suspend. One writer thread (started when the queue goes from idle to
/// busy) takes everything queued, commits it in one transaction, resumes those callers directly, and goes on while
/// more is queued: events that arrive during a commit form the next batch. Nothing hops back to an actor or the
/// cooperative pool between commits (the earlier actor-based leader hand-off did, once per batch).
public final class WebhookIngestor: Sendable {
    private struct Waiting {
        var envelope: InboundEnvelope
        var continuation: CheckedContinuation<IngestOutcome, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var writing = false
    }

    private let database: AppDatabase
    private let clock: any AppClock
    private let maximumBatch: Int
    /// Told after each commit that queued new jobs (wakes the inbox worker).
    private let committed: WorkSignal?
    private let state = Mutex(State())
    private let writerQueue = DispatchQueue(label: "avio.webhook-ingest")

    public init(database: AppDatabase, clock: any AppClock, maximumBatch: Int = 512, committed: WorkSignal? = nil) {
        self.database = database
        self.clock = clock
        self.maximumBatch = max(1, maximumBatch)
        self.committed = committed
    }

    /// Commits one event (with whatever else is waiting) and returns its outcome.
    public func ingest(_ envelope: InboundEnvelope) async throws -> IngestOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.queue.append(Waiting(envelope: envelope, continuation: continuation))
                if state.writing { return false }
                state.writing = true
                return true
            }
            if start { writerQueue.async { self.drain() } }
        }
    }

    /// The writer loop: runs until the queue is empty, then marks the ingestor idle (under the same lock, so an event
    /// queued at that moment either is taken by this loop or starts a new one).
    private func drain() {
        while true {
            let batch: [Waiting] = state.withLock { state in
                guard !state.queue.isEmpty else {
                    state.writing = false
                    return []
                }
                let count = min(maximumBatch, state.queue.count)
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            do {
                let outcomes = try database.ingest(batch.map(\.envelope), now: clock.now())
                guard outcomes.count == batch.count else { throw IngestError.outcomeCountMismatch }  // never leave a caller waiting
                if outcomes.contains(where: { if case .queued = $0 { true } else { false } }), let committed {
                    Task { await committed.notify() }
                }
                for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(returning: outcome) }
            } catch {
                for waiting in batch { waiting.continuation.resume(throwing: error) }
            }
        }
    }
}

enum IngestError: Error {
    case outcomeCountMismatch
}
