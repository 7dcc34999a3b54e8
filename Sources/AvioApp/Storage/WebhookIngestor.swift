import Foundation

/// Group commit for webhook events: concurrent requests share one SQLite transaction (one fsync) instead of
/// paying one each. Every caller still returns only after ITS event is committed, so "2xx means committed"
/// (CONTRACT §5.2) holds. The first caller to arrive while nobody is writing becomes the leader and writes batches
/// until its own event is in; then it hands the lead to the oldest waiting caller. No background task is needed.
public actor WebhookIngestor {
    private enum Wake { case done(Result<IngestOutcome, any Error>), lead }

    private let database: AppDatabase
    private let clock: any AppClock
    private let maximumBatch: Int
    /// Told after each commit that queued new jobs (wakes the inbox worker).
    private let committed: WorkSignal?
    private var queue: [(ticket: Int, envelope: InboundEnvelope)] = []
    private var waiters: [Int: CheckedContinuation<Wake, Never>] = [:]
    private var leaderActive = false
    private var nextTicket = 0

    public init(database: AppDatabase, clock: any AppClock, maximumBatch: Int = 512, committed: WorkSignal? = nil) {
        self.database = database
        self.clock = clock
        self.maximumBatch = maximumBatch
        self.committed = committed
    }

    /// Commits one event (with whatever else is waiting) and returns its outcome.
    public func ingest(_ envelope: InboundEnvelope) async throws -> IngestOutcome {
        let ticket = nextTicket
        nextTicket += 1
        queue.append((ticket, envelope))
        if leaderActive {
            let wake = await withCheckedContinuation { waiters[ticket] = $0 }
            if case .done(let result) = wake { return try result.get() }
        }
        leaderActive = true
        var mine: Result<IngestOutcome, any Error>?
        while mine == nil {
            let batch = Array(queue.prefix(maximumBatch))
            queue.removeFirst(batch.count)
            let results: [Result<IngestOutcome, any Error>]
            do {
                results = try await database.ingest(batch.map(\.envelope), now: clock.now()).map { .success($0) }
            } catch {
                results = Array(repeating: .failure(error), count: batch.count)
            }
            if results.contains(where: { if case .success(.queued) = $0 { true } else { false } }) { await committed?.notify() }
            for (item, result) in zip(batch, results) {
                if item.ticket == ticket { mine = result } else { waiters.removeValue(forKey: item.ticket)?.resume(returning: .done(result)) }
            }
        }
        if let next = queue.first, let waiter = waiters.removeValue(forKey: next.ticket) {
            waiter.resume(returning: .lead)
        } else {
            leaderActive = false
        }
        return try mine!.get()
    }
}
