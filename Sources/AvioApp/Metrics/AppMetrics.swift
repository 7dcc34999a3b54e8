import Prometheus
import Synchronization

/// The product's metrics (CONTRACT §8), registered in one Prometheus registry that `/metrics` renders.
/// Tests build their own instance, so nothing here touches process globals.
public final class AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Metrics already made, by name and label values: the registry's own lookup (building the name, sorting labels,
    /// a lock) cost more per webhook than the rest of the bookkeeping. Label values are bounded (route patterns,
    /// status and error codes, known channels and events: callers never pass raw request text), so this stays small.
    private struct Key: Hashable {
        var name: String
        var labels: [String]
        init(_ name: String, _ labels: [(String, String)]) {
            self.name = name
            self.labels = labels.flatMap { [$0.0, $0.1] }
        }
    }

    private let counters = Mutex<[Key: Counter]>([:])
    private let histograms = Mutex<[Key: DurationHistogram]>([:])

    private static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// The metric under `key` from `cache`, made by `make` (the registry) the first time. Two threads making the same
    /// metric at once get the same object: the registry itself deduplicates by name and labels.
    private static func cached<Metric: Sendable>(_ cache: borrowing Mutex<[Key: Metric]>, _ key: Key, make: () -> Metric) -> Metric {
        if let metric = cache.withLock({ $0[key] }) { return metric }
        let metric = make()
        cache.withLock { $0[key] = metric }
        return metric
    }

    private func count(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)]) {
        Self.cached(counters, Key(name, labels)) {
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: unit, helpText: help), labels: labels)
        }.increment()
    }

    func httpRequest(method: String, route: String, status: Int, duration: Duration) {
        count("http_requests", "total", "HTTP requests served", [("method", method), ("route", route), ("status", String(status))])
        let labels = [("method", method), ("route", route)]
        Self.cached(histograms, Key("http_request_duration", labels)) {
            registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
                labels: labels, buckets: Self.latencyBuckets
            )
        }.record(duration)
    }

    /// `webhook_provider_total{status,channel}`: every `POST /webhook` outcome.
    func webhook(status: String, channel: String) {
        count("webhook_provider", "total", "Webhook requests by outcome", [("status", status), ("channel", channel)])
    }

    /// `wa_to_app_total{event,status}`: events from the WhatsApp worker.
    func waToApp(event: String, status: String) {
        count("wa_to_app", "total", "WhatsApp worker events by outcome", [("event", event), ("status", status)])
    }

    func messagesIn(channel: String) {
        count("messages_in", "total", "Inbound messages stored", [("channel", channel)])
    }

    func messagesOut(channel: String, status: String) {
        count("messages_out", "total", "Outbound messages by result", [("channel", channel), ("status", status)])
    }

    func outboxJob(status: String, reason: String) {
        count("outbox_jobs", "total", "Outbox jobs finished", [("status", status), ("reason", reason)])
    }

    func inboxJob(outcome: String) {
        count("inbox_jobs", "total", "Inbox jobs by outcome", [("outcome", outcome)])
    }

    func tgLogin(event: String) {
        count("tg_login", "total", "Telegram login events", [("event", event)])
    }

    func gatewayError(provider: String, code: String) {
        count("gateway_errors", "total", "Errors answered by or reaching the workers", [("provider", provider), ("code", code)])
    }

    /// `inbox_queue_depth{status}` / `outbox_queue_depth{status}`, refreshed at each scrape.
    func setQueueDepth(queue: String, status: String, depth: Int) {
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "\(queue)_queue", unitName: "depth", helpText: "Jobs in the \(queue) queue by status"),
            labels: [("status", status)]
        ).set(Double(depth))
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}
