import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// What the application talks to across process boundaries, injected so tests can substitute fakes (STYLE §7).
public struct AppDependencies: Sendable {
    public var database: AppDatabase
    public var telegram: any TelegramGateway
    public var whatsapp: any WhatsAppGateway
    public var clock: any AppClock
    public var metrics: AppMetrics

    public init(database: AppDatabase, telegram: any TelegramGateway, whatsapp: any WhatsAppGateway,
                clock: any AppClock = SystemClock(), metrics: AppMetrics = AppMetrics()) {
        self.database = database
        self.telegram = telegram
        self.whatsapp = whatsapp
        self.clock = clock
        self.metrics = metrics
    }

    /// The production wiring: the workers over HTTP (one shared client), the database at `config.databasePath`.
    public static func live(config: AppConfig, httpClient: HTTPClient, metrics: AppMetrics = AppMetrics()) throws -> AppDependencies {
        AppDependencies(database: try AppDatabase(path: config.databasePath),
                        telegram: TelegramWorkerClient(client: httpClient, config: config),
                        whatsapp: WhatsAppWorkerClient(client: httpClient, config: config), metrics: metrics)
    }
}

/// The long-lived parts built once per application and shared by routes and background services.
public struct AppServices: Sendable {
    public let database: AppDatabase
    public let telegram: any TelegramGateway
    public let whatsapp: any WhatsAppGateway
    public let clock: any AppClock
    public let metrics: AppMetrics
    public let ingestor: WebhookIngestor
    public let waStore: WhatsAppQRStore
    public let delivery: DeliveryService
    public let resumer: SessionResumer
    public let inboxWorker: InboxWorker
    public let outboxWorker: OutboxWorker
    public let loginLimiter: AttemptLimiter
    public let deprecations: DeprecationLog
    /// Wakes the outbox worker when a send is queued.
    public let outboxSignal: WorkSignal

    public init(config: AppConfig, dependencies: AppDependencies, logger: Logger) {
        database = dependencies.database
        telegram = dependencies.telegram
        whatsapp = dependencies.whatsapp
        clock = dependencies.clock
        metrics = dependencies.metrics
        let inboxSignal = WorkSignal()
        outboxSignal = WorkSignal()
        ingestor = WebhookIngestor(database: database, clock: clock, committed: inboxSignal)
        waStore = WhatsAppQRStore(clock: clock, ttlSeconds: config.waQRTTLSeconds)
        delivery = DeliveryService(config: config, database: database, telegram: telegram, whatsapp: whatsapp, metrics: metrics, clock: clock)
        resumer = SessionResumer(database: database, whatsapp: whatsapp, logger: logger.with(component: "sessions"))
        inboxWorker = InboxWorker(database: database, waStore: waStore, metrics: metrics, clock: clock, logger: logger.with(component: "inbox"),
                                  signal: inboxSignal)
        outboxWorker = OutboxWorker(database: database, delivery: delivery, metrics: metrics, clock: clock,
                                    logger: logger.with(component: "outbox"), signal: outboxSignal)
        loginLimiter = AttemptLimiter(limit: 5, window: 60, clock: clock)
        deprecations = DeprecationLog(clock: clock)
    }
}

extension Logger {
    /// A copy for one component: same handler and level, tagged `component=<name>`.
    func with(component: String) -> Logger {
        var copy = self
        copy[metadataKey: "component"] = .string(component)
        return copy
    }
}

/// Builds the whole application: routes and, unless `backgroundWorkers` is false (router-level tests drive the
/// workers by hand with `runOnce()`), the inbox worker, outbox worker and WhatsApp session resumer.
public func buildApplication(config: AppConfig, dependencies: AppDependencies, logger: Logger = Logger(label: "avio"),
                             backgroundWorkers: Bool = true,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in })
    -> (application: some ApplicationProtocol, services: AppServices)
{
    let services = AppServices(config: config, dependencies: dependencies, logger: logger)
    let router = buildRouter(config: config, services: services)
    let application = Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "avio"),
        services: backgroundWorkers ? [services.inboxWorker, services.outboxWorker, services.resumer] : [],
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
        logger: logger
    )
    return (application, services)
}
