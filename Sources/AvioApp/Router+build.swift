import Hummingbird

/// THE route table (STYLE §2): every URL of the product, its guard, and its controller.
func buildRouter(config: AppConfig, services: AppServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware(metrics: services.metrics))
    router.add(middleware: ErrorMiddleware())

    // Open: health, metrics, the admin page (its API calls carry the admin token).
    let health = HealthController(database: services.database, metrics: services.metrics, config: config)
    router.get("/health", use: health.health)
    router.get("/metrics", use: health.metrics)
    let page = AdminPageController()
    router.get("/", use: page.index)
    router.get("/admin", use: page.index)
    router.get("/admin/assets/{file}", use: page.asset)
    router.get("/openapi.yaml", use: page.openAPI)

    // Provider token (§2.4, checked inside against the body's tenant): the workers' inbound events.
    let webhook = WebhookController(database: services.database, ingestor: services.ingestor, waStore: services.waStore,
                                    config: config, metrics: services.metrics)
    router.post("/webhook", use: webhook.receive)

    // Internal token (§2.3).
    let tokens = ProviderTokenController(database: services.database, clock: services.clock, resumer: services.resumer)
    let internalRoutes = router.group("/internal").add(middleware: AuthMiddleware(kind: .internal, config: config))
    internalRoutes.post("/tenant/{tenant}/ensure", use: tokens.ensure)

    // Admin token (§2.2).
    let admin = router.group().add(middleware: AuthMiddleware(kind: .admin, config: config))
    let send = SendController(delivery: services.delivery, database: services.database, clock: services.clock,
                              queued: services.outboxSignal)
    admin.post("/send", use: send.send)
    admin.get("/admin/provider-token/{tenant}", use: tokens.get)
    admin.post("/admin/provider-token/{tenant}/rotate", use: tokens.rotate)
    admin.get("/admin/keys/list", use: tokens.list)
    let reads = AdminReadController(database: services.database)
    admin.get("/admin/leads", use: reads.leads)
    admin.get("/admin/leads/{id}/messages", use: reads.leadMessages)
    admin.get("/admin/webhook-events", use: reads.webhookEvents)
    admin.get("/admin/inbox", use: reads.inbox)
    admin.get("/admin/outbox", use: reads.outbox)
    admin.get("/admin/outbox/{id}", use: reads.outboxJob)

    // Public key (§2.1): WhatsApp connect.
    let wa = WhatsAppPublicController(waStore: services.waStore, whatsapp: services.whatsapp, database: services.database)
    let pubWA = router.group("/pub/wa")
        .add(middleware: PublicRouteMiddleware(deprecations: nil))
        .add(middleware: AuthMiddleware(kind: .publicKey, config: config))
    pubWA.get("/status", use: wa.status)
    pubWA.get("/qr.svg", use: wa.qrSVG)
    pubWA.post("/start", use: wa.start)
    pubWA.get("/start", use: wa.start)

    // Public key (§2.1): Telegram login, deprecated historical paths (§4, §9).
    let tg = TelegramLoginController(telegram: services.telegram, limiter: services.loginLimiter, metrics: services.metrics,
                                     clock: services.clock, transitions: LoginTransitions(metrics: services.metrics))
    let pubTG = router.group("/pub/tg")
        .add(middleware: PublicRouteMiddleware(deprecations: services.deprecations))
        .add(middleware: AuthMiddleware(kind: .publicKey, config: config))
    pubTG.get("/start", use: tg.start)
    pubTG.get("/qr.png", use: tg.qrPNG)
    pubTG.get("/status", use: tg.status)
    pubTG.post("/2fa", use: tg.submitPassword)
    pubTG.post("/logout", use: tg.logout)
    return router
}
