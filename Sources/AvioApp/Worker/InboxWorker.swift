import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Turns committed webhook events into contacts, leads and messages (CONTRACT §5.5).
///
/// At least once, in order per tenant: the effects of a batch of jobs and their completion commit in one transaction,
/// so a crash either leaves a job pending (processed again at the next pass) or fully done. Processing is
/// idempotent (messages are unique by provider id). Failing jobs are retried with exponential backoff, then parked
/// with their error visible in `GET /admin/inbox?status=parked`.
public struct InboxWorker: Service {
    public struct Options: Sendable {
        public var batchSize = 128
        public var maxAttempts = 5
        /// Longest wait between passes when idle (new work wakes the worker at once through its `WorkSignal`).
        public var idleSleep: Duration = .seconds(1)
        public init() {}
    }

    let database: AppDatabase
    let waStore: WhatsAppQRStore
    let metrics: AppMetrics
    let clock: any AppClock
    let logger: Logger
    let options: Options
    let signal: WorkSignal
    /// Set until the first batch of this process has been taken.
    private let firstBatch = FirstTime()

    public init(database: AppDatabase, waStore: WhatsAppQRStore, metrics: AppMetrics, clock: any AppClock, logger: Logger,
                signal: WorkSignal = WorkSignal(), options: Options = Options()) {
        self.database = database
        self.waStore = waStore
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        self.options = options
        self.signal = signal
    }

    public func run() async throws {
        await signal.drive(name: "inbox", idle: options.idleSleep, logger: logger) { try await runOnce() }
    }

    /// Takes and processes one batch; returns the number of jobs handled. Tests call this directly.
    ///
    /// The batch is read and its payloads decoded outside the write transaction (this worker is the only one that
    /// changes jobs, so they are still runnable when it writes), so SQLite's single writer is held only for the
    /// effects. Effects and completions commit in ONE transaction: a crash (or a failing commit) leaves every job of the
    /// batch pending, to be processed again; no lease is needed, and a batch costs one commit.
    ///
    /// The first batch after startup runs job by job instead (`processRecovering`): if the process died while
    /// processing, this is the batch it died on.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = clock.now()
        let jobs = try await database.runnableInboxJobs(limit: options.batchSize, now: now)
        guard !jobs.isEmpty else { return 0 }
        let decoded = jobs.map { ($0, Self.decode($0)) }
        let maxAttempts = options.maxAttempts
        let outcomes: [(InboxJob, Outcome)]
        if firstBatch.take() {
            outcomes = try await processRecovering(decoded, now: now)
        } else {
            outcomes = try await database.writer.write { db in
                try Self.process(decoded, db: db, now: now, maxAttempts: maxAttempts)
            }
        }
        for (job, outcome) in outcomes { await report(job, outcome) }
        return outcomes.count
    }

    /// One job at a time, each attempt counted in its own commit BEFORE the job is applied. A job that kills the
    /// process (a trap, the OOM killer) would otherwise roll its batch back on every restart, uncounted, and block the
    /// queue forever under a restarting supervisor; counted this way, it is parked once it has been started
    /// `maxAttempts` times without finishing, and the jobs before it are kept.
    func processRecovering(_ jobs: [(InboxJob, Result<WebhookEvent, JobError>)], now: Date) async throws -> [(InboxJob, Outcome)] {
        let maxAttempts = options.maxAttempts
        var outcomes: [(InboxJob, Outcome)] = []
        var blockedTenants = Set<Int64>()
        for (job, event) in jobs where !blockedTenants.contains(job.tenant) {
            let started = try await database.writer.write { db in try AppDatabase.startInboxAttempt(db, id: job.id, now: now) }
            guard started else { continue }  // no longer pending
            let result: [(InboxJob, Outcome)] = try await database.writer.write { db in
                if job.attempts > maxAttempts {  // started that many times before, never finished: the process died each time
                    let error = JobError.interrupted(times: job.attempts - 1)
                    try AppDatabase.failInboxJob(db, job: job, error: error.description, now: now, backoff: 0, park: true)
                    return [(job, .parked(error.description))]
                }
                return try Self.process([(job, event)], db: db, now: now, maxAttempts: maxAttempts, attemptCounted: true)
            }
            for (job, outcome) in result {
                switch outcome {
                case .retry, .parked: blockedTenants.insert(job.tenant)
                default: break
                }
            }
            outcomes += result
        }
        return outcomes
    }

    /// The job's event, parsed from its stored payload.
    static func decode(_ job: InboxJob) -> Result<WebhookEvent, JobError> {
        guard let body = JSONValue.parse(Array(job.payload.utf8)) else { return .failure(.unreadablePayload) }
        do {
            return .success(try WebhookEvent.parse(body, tenant: job.tenant))
        } catch {
            return .failure(.invalidPayload(error.code))
        }
    }

    /// Processes jobs inside the caller's transaction. The whole batch runs first in one savepoint; if any job fails,
    /// that is rolled back and the batch runs again with one savepoint per job, so a failing job is retried later
    /// (and holds back the later jobs of its tenant) while the others complete.
    /// `attemptCounted`: the attempt was already counted when it started (`processRecovering`).
    static func process(_ jobs: [(InboxJob, Result<WebhookEvent, JobError>)], db: Database, now: Date, maxAttempts: Int,
                        attemptCounted: Bool = false) throws -> [(InboxJob, Outcome)] {
        guard !jobs.isEmpty else { return [] }
        var outcomes: [(InboxJob, Outcome)] = []
        outcomes.reserveCapacity(jobs.count)
        do {
            try db.inSavepoint {
                for (job, event) in jobs {
                    outcomes.append((job, try apply(event.get(), db: db, now: now)))
                    guard try AppDatabase.completeInboxJob(db, id: job.id, now: now, countAttempt: !attemptCounted) else {
                        throw JobError.notPending
                    }
                }
                return .commit
            }
            return outcomes
        } catch {
            outcomes.removeAll(keepingCapacity: true)
        }
        var blockedTenants = Set<Int64>()
        for (job, event) in jobs {
            // Order per tenant: once a job of a tenant failed, its later jobs wait for it (left pending, unprocessed).
            if blockedTenants.contains(job.tenant) { continue }
            do {
                var outcome: Outcome?
                try db.inSavepoint {
                    let applied = try apply(event.get(), db: db, now: now)
                    guard try AppDatabase.completeInboxJob(db, id: job.id, now: now, countAttempt: !attemptCounted) else {
                        return .rollback  // finished meanwhile: not ours
                    }
                    outcome = applied
                    return .commit
                }
                if let outcome { outcomes.append((job, outcome)) }
            } catch {
                blockedTenants.insert(job.tenant)
                let parked = job.attempts >= maxAttempts
                let backoff = min(300, pow(2, Double(job.attempts)))
                try AppDatabase.failInboxJob(db, job: job, error: String(describing: error), now: now, backoff: backoff, park: parked)
                outcomes.append((job, parked ? .parked("\(error)") : .retry("\(error)", backoff)))
            }
        }
        return outcomes
    }

    enum Outcome {
        /// A new inbound message row under `leadID`.
        case stored(channel: Channel, leadID: Int64)
        /// Already stored (reprocessing, or the same provider id again).
        case duplicate
        case ready
        case retry(String, Double)
        case parked(String)
    }

    static func apply(_ event: WebhookEvent, db: Database, now: Date) throws -> Outcome {
        switch event {
        case .message(let message):
            let phone = message.channel == .whatsapp ? Recipient.normalizePhone(message.from) : nil
            let contact = ContactInfo(tenant: message.tenant, channel: message.channel, externalID: phone ?? message.from,
                                      phone: phone, username: message.username, name: message.name)
            let record = MessageRecord(direction: "in", text: message.text, media: message.media,
                                       providerMessageID: message.messageID, status: "received", error: nil, ts: message.ts ?? now)
            let result = try AppDatabase.recordMessage(db, contact: contact, message: record, now: now)
            return result.inserted ? .stored(channel: message.channel, leadID: result.leadID) : .duplicate
        case .ready(let tenant, let state, _):
            try db.cachedExecute(sql: """
                INSERT INTO wa_sessions(tenant, state, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(tenant) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                """, arguments: [tenant, state ?? "ready", Timestamp.iso(now)])
            return .ready
        case .qr:
            return .duplicate  // never queued (QR codes go to the cache); nothing to store
        }
    }

    enum JobError: Error, CustomStringConvertible {
        case unreadablePayload
        case invalidPayload(String)
        /// The job was finished by someone else meanwhile: the batch is redone job by job and this one skipped.
        case notPending
        case interrupted(times: Int)
        var description: String {
            switch self {
            case .unreadablePayload: "payload is not JSON"
            case .invalidPayload(let code): "payload rejected: \(code)"
            case .notPending: "job is no longer pending"
            case .interrupted(let times): "not finished after \(times) attempts: the server stopped while processing it"
            }
        }
    }

    private func report(_ job: InboxJob, _ outcome: Outcome) async {
        let level: Logger.Level
        let details: @Sendable () -> Logger.Metadata  // built only when the line is logged
        switch outcome {
        case .stored(let channel, let leadID):
            metrics.inboxJob(outcome: "done")
            metrics.messagesIn(channel: channel.rawValue)
            (level, details) = (.info, { ["outcome": "stored", "lead": "\(leadID)"] })
        case .duplicate:
            metrics.inboxJob(outcome: "duplicate")
            (level, details) = (.info, { ["outcome": "duplicate"] })
        case .ready:
            metrics.inboxJob(outcome: "done")
            await waStore.setState(.ready, tenant: job.tenant)
            (level, details) = (.info, { ["outcome": "session_ready"] })
        case .retry(let error, let backoff):
            metrics.inboxJob(outcome: "retry")
            (level, details) = (.warning, { ["outcome": "retry", "error": "\(error)", "backoff_s": "\(Int(backoff))"] })
        case .parked(let error):
            metrics.inboxJob(outcome: "parked")
            (level, details) = (.error, { ["outcome": "parked", "error": "\(error)"] })
        }
        logger.log(level: level, "inbox job", metadata: [
            "job": "\(job.id)", "tenant": "\(job.tenant)", "event": "\(job.kind)", "attempt": "\(job.attempts)",
        ].merging(details()) { $1 })
    }
}

/// True once, then false: "is this the first time?" shared by the copies of a value type.
final class FirstTime: Sendable {
    private let first = Atomic(true)
    func take() -> Bool { first.exchange(false, ordering: .relaxed) }
}
