import Foundation
import HTTPTypes
import Hummingbird

/// `POST /send` (CONTRACT §6): synchronous delivery, or `?async=1` to queue in the outbox.
struct SendController: Sendable {
    let delivery: DeliveryService
    let database: AppDatabase
    let clock: any AppClock
    let queued: WorkSignal

    /// How long an inline send holds its outbox row before the outbox worker may take it over (crash recovery).
    static let inlineLeaseSeconds: Double = 120

    @Sendable func send(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.jsonBody()
        let message = try TransportMessage.parse(body)
        context.notes.set("tenant", String(message.tenant))
        context.notes.set("channel", message.channel.rawValue)
        let key = message.idempotencyKey ?? request.header("Idempotency-Key").flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        if ["1", "true", "yes"].contains(request.uri.queryParameters.get("async")?.lowercased() ?? "") {
            let (id, created) = try await database.enqueueOutbox(message, idempotencyKey: key, now: clock.now())
            if created { await queued.notify() }
            context.logger.info("send queued", metadata: ["tenant": "\(message.tenant)", "job": "\(id)", "duplicate": "\(!created)"])
            var answer: JSONValue = ["ok": true, "queued": true, "id": .int(id)]
            if !created, case .object(var fields) = answer {
                fields["duplicate"] = true
                answer = .object(fields)
            }
            return JSONResponse.make(answer, status: .accepted)
        }
        guard let key else { return respond(try await delivery.send(message, logger: context.logger)) }
        // Idempotent synchronous send: the first request owns an outbox row; repeats get its stored answer.
        let (id, created) = try await database.enqueueOutbox(message, idempotencyKey: key, now: clock.now(),
                                                            leaseSeconds: Self.inlineLeaseSeconds)
        guard created else { return try await storedAnswer(jobID: id) }
        let answer = try await delivery.send(message, logger: context.logger)
        try await database.finishOutboxJob(id: id, OutboxUpdate(status: answer.outcome, reason: answer.reason,
                                                                httpStatus: Int(answer.status.code), result: answer.body,
                                                                error: answer.outcome == "sent" ? nil : answer.reason), now: clock.now())
        return respond(answer)
    }

    private func respond(_ answer: DeliveryService.Answer) -> Response {
        var headers: HTTPFields = [:]
        if case .int(let seconds)? = answer.body["retry_after"] { headers[.retryAfter] = String(seconds) }
        return JSONResponse.make(answer.body, status: answer.status, headers: headers)
    }

    /// The first answer of an idempotency key, or `409 in_progress` while that send is still running.
    private func storedAnswer(jobID: Int64) async throws -> Response {
        guard let job = try await database.outboxJob(id: jobID) else { throw APIError.notFound }
        guard case .int(let status)? = job["http_status"], let result = job["result"], !result.isNull else {
            return JSONResponse.make(["ok": false, "error": "in_progress", "id": .int(jobID)], status: .conflict)
        }
        guard case .object(var fields) = result else { return JSONResponse.make(result, status: .init(code: Int(status))) }
        fields["idempotent_replay"] = true
        return JSONResponse.make(.object(fields), status: .init(code: Int(status)))
    }
}
