import Foundation
import Logging
import ServiceLifecycle

/// Delivers queued sends (CONTRACT §6.3) with the same guards as `POST /send`: skipped jobs log
/// `status=skipped reason=…`, a missing lead logs `err:no_lead` without a delivery attempt, and 429/5xx/timeouts are
/// retried with exponential backoff up to `maxAttempts`, then `failed`. Jobs are leased, so a crash mid-send leaves
/// the job to be retried.
public struct OutboxWorker: Service {
    public struct Options: Sendable {
        public var batchSize = 16
        public var leaseSeconds: Double = 120
        public var maxAttempts = 5
        /// First retry delay; doubles each attempt.
        public var baseBackoff: Double = 2
        public var maxBackoff: Double = 300
        /// Longest wait between passes when idle (new work wakes the worker at once through its `WorkSignal`).
        public var idleSleep: Duration = .seconds(1)
        public init() {}
    }

    let database: AppDatabase
    let delivery: DeliveryService
    let metrics: AppMetrics
    let clock: any AppClock
    let logger: Logger
    let options: Options
    let signal: WorkSignal

    public init(database: AppDatabase, delivery: DeliveryService, metrics: AppMetrics, clock: any AppClock, logger: Logger,
                signal: WorkSignal = WorkSignal(), options: Options = Options()) {
        self.database = database
        self.delivery = delivery
        self.metrics = metrics
        self.clock = clock
        self.logger = logger
        self.options = options
        self.signal = signal
    }

    public func run() async throws {
        await signal.drive(name: "outbox", idle: options.idleSleep, logger: logger) { try await runOnce() }
    }

    /// Claims and handles one batch of due jobs; returns how many. Tests call this directly.
    @discardableResult
    public func runOnce() async throws -> Int {
        let jobs = try await database.claimOutboxJobs(limit: options.batchSize, now: clock.now(), leaseSeconds: options.leaseSeconds)
        for job in jobs { try await handle(job) }
        return jobs.count
    }

    func handle(_ job: OutboxJob) async throws {
        guard let body = JSONValue.parse(Array(job.payload.utf8)), let message = try? TransportMessage.parse(body) else {
            try await finish(job, status: "failed", reason: "invalid_payload", http: 422, result: APIError.invalidPayload("payload").body)
            return
        }
        let answer: DeliveryService.Answer
        switch try await delivery.check(message) {
        case .failure(let refused):
            // Guards (skipped, err:no_lead): no delivery attempt.
            answer = refused
            try await delivery.recordAttempt(message, recipient: Recipient(channel: message.channel, to: message.to), answer: answer)
        case .success(let outbound):
            answer = await delivery.deliver(outbound)
            if answer.retryable, job.attempts < options.maxAttempts {
                let delay = min(options.maxBackoff, options.baseBackoff * pow(2, Double(job.attempts - 1)))
                try await database.retryOutboxJob(id: job.id, error: answer.reason ?? "error",
                                                  availableAt: clock.now().addingTimeInterval(delay), now: clock.now())
                metrics.outboxJob(status: "retry", reason: answer.reason ?? "error")
                logger.warning("outbox job", metadata: ["job": "\(job.id)", "tenant": "\(job.tenant)", "status": "retry",
                                                       "reason": "\(answer.reason ?? "error")", "attempt": "\(job.attempts)",
                                                       "backoff_s": "\(Int(delay))"])
                return
            }
            try await delivery.recordAttempt(message, recipient: outbound.recipient, answer: answer)
        }
        try await finish(job, status: answer.outcome, reason: answer.reason, http: Int(answer.status.code), result: answer.body)
    }

    private func finish(_ job: OutboxJob, status: String, reason: String?, http: Int, result: JSONValue) async throws {
        try await database.finishOutboxJob(id: job.id, OutboxUpdate(status: status, reason: reason, httpStatus: http, result: result,
                                                                    error: status == "sent" ? nil : reason), now: clock.now())
        metrics.outboxJob(status: status, reason: reason ?? "ok")
        var metadata: Logger.Metadata = ["job": "\(job.id)", "tenant": "\(job.tenant)", "status": "\(status)", "attempt": "\(job.attempts)"]
        if let reason { metadata["reason"] = "\(reason)" }
        logger.log(level: status == "sent" ? .info : .notice, "outbox job", metadata: metadata)
    }
}
