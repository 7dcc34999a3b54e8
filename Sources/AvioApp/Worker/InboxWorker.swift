import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Turns committed webhook events into contacts, leads and messages (CONTRACT §5.5).
///
/// At least once, in order per tenant: jobs are claimed with a lease; the effects of a job and its completion commit in
/// one transaction, so a crash either leaves the job pending (retried after the lease) or fully done. Processing is
/// idempotent (messages are unique by provider id). Failing jobs are retried with exponential backoff, then parked
/// with their error visible in `GET /admin/inbox?status=parked`.
public struct InboxWorker: Service {
    public struct Options: Sendable {
        public var batchSize = 64
        public var leaseSeconds: Double = 60
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

    /// Claims and processes one batch; returns the number of jobs handled. Tests call this directly.
    @discardableResult
    public func runOnce() async throws -> Int {
        let jobs = try await database.claimInboxJobs(limit: options.batchSize, now: clock.now(), leaseSeconds: options.leaseSeconds)
        guard !jobs.isEmpty else { return 0 }
        try await process(jobs)
        return jobs.count
    }

    /// Processes claimed jobs in one transaction, each inside its own savepoint.
    func process(_ jobs: [InboxJob]) async throws {
        let now = clock.now()
        let options = options
        let outcomes: [(InboxJob, Outcome)] = try await database.writer.write { db in
            var outcomes: [(InboxJob, Outcome)] = []
            var blockedTenants = Set<Int64>()
            for job in jobs {
                // Order per tenant: once a job of a tenant failed, its later jobs wait for it (released unprocessed).
                if blockedTenants.contains(job.tenant) {
                    try db.cachedExecute(sql: "UPDATE inbox SET lease_until = NULL, attempts = attempts - 1 WHERE id = ?", arguments: [job.id])
                    continue
                }
                do {
                    var outcome = Outcome.duplicate
                    try db.inSavepoint {
                        outcome = try Self.apply(job, db: db, now: now)
                        try AppDatabase.completeInboxJob(db, id: job.id, now: now)
                        return .commit
                    }
                    outcomes.append((job, outcome))
                } catch {
                    blockedTenants.insert(job.tenant)
                    let backoff = min(300, pow(2, Double(job.attempts)))
                    let parked = try AppDatabase.failInboxJob(db, job: job, error: String(describing: error), now: now,
                                                              backoff: backoff, maxAttempts: options.maxAttempts)
                    outcomes.append((job, parked ? .parked("\(error)") : .retry("\(error)", backoff)))
                }
            }
            return outcomes
        }
        for (job, outcome) in outcomes { await report(job, outcome) }
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

    static func apply(_ job: InboxJob, db: Database, now: Date) throws -> Outcome {
        guard let body = JSONValue.parse(Array(job.payload.utf8)) else { throw JobError.unreadablePayload }
        let event: WebhookEvent
        do {
            event = try WebhookEvent.parse(body, tenant: job.tenant)
        } catch {
            throw JobError.invalidPayload(error.code)
        }
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
        var description: String {
            switch self {
            case .unreadablePayload: "payload is not JSON"
            case .invalidPayload(let code): "payload rejected: \(code)"
            }
        }
    }

    private func report(_ job: InboxJob, _ outcome: Outcome) async {
        var metadata: Logger.Metadata = ["job": "\(job.id)", "tenant": "\(job.tenant)", "event": "\(job.kind)", "attempt": "\(job.attempts)"]
        switch outcome {
        case .stored(let channel, let leadID):
            metadata["outcome"] = "stored"
            metadata["lead"] = "\(leadID)"
            metrics.inboxJob(outcome: "done")
            metrics.messagesIn(channel: channel.rawValue)
        case .duplicate:
            metadata["outcome"] = "duplicate"
            metrics.inboxJob(outcome: "duplicate")
        case .ready:
            metadata["outcome"] = "session_ready"
            metrics.inboxJob(outcome: "done")
            await waStore.setState(.ready, tenant: job.tenant)
        case .retry(let error, let backoff):
            metadata["outcome"] = "retry"
            metadata["error"] = "\(error)"
            metadata["backoff_s"] = "\(Int(backoff))"
            metrics.inboxJob(outcome: "retry")
            logger.warning("inbox job", metadata: metadata)
            return
        case .parked(let error):
            metadata["outcome"] = "parked"
            metadata["error"] = "\(error)"
            metrics.inboxJob(outcome: "parked")
            logger.error("inbox job", metadata: metadata)
            return
        }
        logger.info("inbox job", metadata: metadata)
    }
}
