import Foundation
import Logging
import ServiceLifecycle

/// Keeps WhatsApp inbound flowing across restarts (issue: "resume WhatsApp sessions"): at startup, and whenever a
/// tenant gets its provider token, asks the WhatsApp worker to start that tenant's session. An unreachable worker is
/// logged and retried with exponential backoff (capped), never fatal.
public struct SessionResumer: Service {
    let database: AppDatabase
    let whatsapp: any WhatsAppGateway
    let logger: Logger
    let firstDelay: Duration
    let maximumDelay: Duration
    private let requests: AsyncStream<Int64>
    private let continuation: AsyncStream<Int64>.Continuation

    public init(database: AppDatabase, whatsapp: any WhatsAppGateway, logger: Logger,
                firstDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(300)) {
        self.database = database
        self.whatsapp = whatsapp
        self.logger = logger
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
        (requests, continuation) = AsyncStream.makeStream(of: Int64.self)
    }

    /// Asks for the tenant's session to be started (a new provider token, an operator action).
    public func resume(tenant: Int64) { continuation.yield(tenant) }

    public func run() async throws {
        let tenants = (try? await database.providerTokens().map(\.tenant)) ?? []
        if !tenants.isEmpty { logger.info("resuming WhatsApp sessions", metadata: ["tenants": "\(tenants.count)"]) }
        await withDiscardingTaskGroup { group in
            for tenant in tenants { group.addTask { await self.start(tenant: tenant) } }
            await withGracefulShutdownHandler {
                // Each request gets its own retry loop, so one unreachable tenant never delays the others.
                for await tenant in requests { group.addTask { await self.start(tenant: tenant) } }
            } onGracefulShutdown: {
                continuation.finish()
            }
            group.cancelAll()
        }
    }

    /// Starts one tenant's session, retrying until it works or the service stops.
    func start(tenant: Int64) async {
        var delay = firstDelay
        var attempt = 1
        while !Task.isCancelled {
            do {
                try await whatsapp.startSession(tenant: tenant)
                logger.info("WhatsApp session start requested", metadata: ["tenant": "\(tenant)", "attempt": "\(attempt)"])
                return
            } catch {
                if Task.isCancelled { return }  // shutting down: not a worker problem
                logger.warning("WhatsApp worker did not start the session; will retry",
                               metadata: ["tenant": "\(tenant)", "attempt": "\(attempt)", "error": "\(error)",
                                          "retry_in_s": "\(delay.components.seconds)"])
            }
            do { try await Task.sleep(for: delay) } catch { return }
            delay = min(delay * 2, maximumDelay)
            attempt += 1
        }
    }
}
