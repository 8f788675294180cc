import CoreMetrics
import Foundation
import Prometheus
import Synchronization
import TokenVault

/// The gateway's Prometheus metrics, through swift-metrics with a factory of its own (one registry
/// per gateway, so several gateways in one process, as in tests, do not mix their figures).
/// Metric objects are created once per label set and reused.
package final class GatewayMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private struct CounterKey: Hashable {
        var label: String
        var dimensions: [String]
    }

    private let counters = Mutex<[CounterKey: CoreMetrics.Counter]>([:])
    /// A proxied request's counter and duration histogram by their labels, looked up together
    /// without building the dimension lists (once per proxied request).
    private struct RequestKey: Hashable {
        var client: String?
        var template: String?
        var decision: String
        var status: Int
        /// The gateway's error code when it answered itself; nil when the status is HighLevel's.
        var code: String?
    }

    private struct RequestSeries {
        let counter: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
    }

    private let requestSeries = Mutex<[RequestKey: RequestSeries]>([:])
    /// `ghl_gateway_request_duration_seconds` of the admin and public listeners, by listener and status.
    private let listenerDurations = Mutex<[ListenerKey: CoreMetrics.Timer]>([:])
    private struct ListenerKey: Hashable {
        var listener: String
        var status: Int
    }

    private let upstreamLatency: CoreMetrics.Timer
    private let deliveryLatency: CoreMetrics.Timer
    private let queueWait: CoreMetrics.Timer
    /// The locations that had metrics of their own at the last render (under pressure).
    private let pressured = Mutex<Set<String>>([])
    /// At most this many locations get metrics of their own, so any number of locations keeps the
    /// metrics' cardinality bounded (every location is on `/health/quota`).
    static let labelledLocations = 20
    private static let locationGauges = [
        "ghl_gateway_upstream_budget_remaining", "ghl_gateway_upstream_daily_remaining", "ghl_gateway_upstream_queued_requests",
    ]

    package init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        upstreamLatency = CoreMetrics.Timer(label: "ghl_gateway_upstream_duration_seconds", preferredDisplayUnit: .seconds, factory: factory)
        deliveryLatency = CoreMetrics.Timer(
            label: "ghl_gateway_webhook_delivery_seconds", preferredDisplayUnit: .seconds, factory: factory)
        queueWait = CoreMetrics.Timer(label: "ghl_gateway_upstream_queue_wait_seconds", preferredDisplayUnit: .seconds, factory: factory)
    }

    /// How long a request waited for its location's HighLevel budget.
    func upstreamQueueWait(_ duration: Duration) {
        queueWait.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// `ghl_gateway_upstream_budget_refusals_total{client}`: requests answered `upstream_rate_limited` locally.
    func upstreamBudgetRefusal(client: String) {
        count("ghl_gateway_upstream_budget_refusals_total", [("client", client)])
    }

    /// `ghl_gateway_upstream_rate_limited_total`: HighLevel's own 429s.
    func upstreamRateLimited() {
        count("ghl_gateway_upstream_rate_limited_total", [])
    }

    /// One proxied request: `ghl_gateway_requests_total{client, template, decision, status, origin}`
    /// and `ghl_gateway_request_duration_seconds{listener="proxy", decision, code, status_class}`.
    /// `code` is the gateway's error code when it answered itself (origin `gateway`), nil when the
    /// status is HighLevel's (origin `highlevel`).
    package func request(client: String?, template: String?, decision: String, status: Int, code: String?, duration: Duration) {
        let key = RequestKey(client: client, template: template, decision: decision, status: status, code: code)
        let series = Self.cached(in: requestSeries, key) {
            RequestSeries(
                counter: CoreMetrics.Counter(
                    label: "ghl_gateway_requests_total",
                    dimensions: [
                        ("client", client ?? "-"), ("template", template ?? "-"), ("decision", decision), ("status", String(status)),
                        ("origin", code == nil ? "highlevel" : "gateway"),
                    ], factory: factory),
                duration: durationTimer(listener: "proxy", decision: decision, code: code ?? "-", status: status))
        }
        series.counter.increment()
        series.duration.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// One request to the admin or public listener: `ghl_gateway_request_duration_seconds{listener, status_class}`
    /// (`decision` and `code` are `-`: those listeners decide nothing per route).
    func listenerRequest(listener: String, status: Int, duration: Duration) {
        let timer = Self.cached(in: listenerDurations, ListenerKey(listener: listener, status: status)) {
            durationTimer(listener: listener, decision: "-", code: "-", status: status)
        }
        timer.recordNanoseconds(Self.nanoseconds(duration))
    }

    private func durationTimer(listener: String, decision: String, code: String, status: Int) -> CoreMetrics.Timer {
        CoreMetrics.Timer(
            label: "ghl_gateway_request_duration_seconds",
            dimensions: [
                ("listener", listener), ("decision", decision), ("code", code), ("status_class", "\(status / 100)xx"),
            ], preferredDisplayUnit: .seconds, factory: factory)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// Time to HighLevel's response head.
    package func upstream(_ duration: Duration) {
        upstreamLatency.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// `ghl_gateway_token_renewals_total{kind: refresh|exchange, outcome}`.
    /// An audit record dropped: the database too far behind (`ghl_gateway_audit_dropped_total`).
    package func auditDropped() {
        count("ghl_gateway_audit_dropped_total", [])
    }

    package func tokenRenewal(kind: String, outcome: String) {
        count("ghl_gateway_token_renewals_total", [("kind", kind), ("outcome", outcome)])
    }

    /// `ghl_gateway_policy_reloads_total{outcome: applied|rejected}`.
    package func policyReload(_ outcome: String) {
        count("ghl_gateway_policy_reloads_total", [("outcome", outcome)])
    }

    /// `ghl_gateway_webhooks_total{type, outcome}`.
    package func webhook(type: String, outcome: String) {
        count("ghl_gateway_webhooks_total", [("type", type), ("outcome", outcome)])
    }

    /// `ghl_gateway_webhooks_unrouted_total{type}`: events stored that no client subscribes to.
    package func webhookUnrouted(type: String) {
        count("ghl_gateway_webhooks_unrouted_total", [("type", type)])
    }

    /// `ghl_gateway_webhook_signatures_total{scheme: ed25519|rsa_legacy}`: which scheme verified each delivery.
    package func webhookSignature(scheme: String) {
        count("ghl_gateway_webhook_signatures_total", [("scheme", scheme)])
    }

    /// `ghl_gateway_webhook_deliveries_total{client, outcome: delivered|retry|failed|gone|disabled|dropped}`: every attempt.
    package func webhookDelivery(client: String, outcome: String) {
        count("ghl_gateway_webhook_deliveries_total", [("client", client), ("outcome", outcome)])
    }

    /// `ghl_gateway_webhook_delivery_seconds`: from HighLevel's delivery to the subscriber's 2xx.
    package func webhookDelivered(after seconds: TimeInterval) {
        deliveryLatency.recordNanoseconds(Int64(max(0, seconds) * 1_000_000_000))
    }

    /// `ghl_gateway_installs_total{entry: gateway|marketplace, outcome}`: every install callback.
    package func install(entry: String, outcome: String) {
        count("ghl_gateway_installs_total", [("entry", entry), ("outcome", outcome)])
    }

    /// `ghl_gateway_connections_closed_total{listener, reason: head_timeout|idle_timeout|slow_body|max_requests|over_capacity}`:
    /// connections the gateway closed by a limit.
    func connectionClosed(listener: String, reason: String) {
        count("ghl_gateway_connections_closed_total", [("listener", listener), ("reason", reason)])
    }

    /// Prometheus text; `ghl_gateway_build_info{version}` (always 1), `ghl_gateway_client_key_last_used_seconds{client, key}` (Unix time of a key's
    /// last use, by digest prefix), `ghl_gateway_connections_open{listener}`, `ghl_gateway_tokens{status}`, `ghl_gateway_webhook_pending{client}` and
    /// `ghl_gateway_webhook_oldest_pending_seconds{client}` are set from the vault's figures first.
    package func render(
        tokens: [String: Int], backlog: [DeliveryBacklog] = [], quota: [QuotaReport.Location] = [],
        connections: [ListenerConnections] = [], clients: ClientKeysReport? = nil, policies: PolicyStore.Status? = nil,
        replicas: Int = 1
    ) -> String {
        Gauge(label: "ghl_gateway_build_info", dimensions: [("version", GatewayVersion.current)], factory: factory).record(1)
        Gauge(label: "ghl_gateway_replicas_live", factory: factory).record(replicas)
        if let policies {
            Gauge(label: "ghl_gateway_policy_valid", factory: factory).record(policies.rejectedIssues.isEmpty ? 1 : 0)
            Gauge(label: "ghl_gateway_policy_last_success_timestamp_seconds", factory: factory)
                .record(policies.lastSuccessAt?.timeIntervalSince1970 ?? 0)
        }
        for client in clients?.clients ?? [] {
            for key in client.keys {
                guard let lastUsed = key.lastUsed else { continue }
                Gauge(
                    label: "ghl_gateway_client_key_last_used_seconds", dimensions: [("client", client.client), ("key", key.digest)], factory: factory
                )
                .record(lastUsed.timeIntervalSince1970)
            }
        }
        for listener in connections {
            Gauge(label: "ghl_gateway_connections_open", dimensions: [("listener", listener.listener)], factory: factory).record(listener.open)
        }
        Gauge(label: "ghl_gateway_upstream_queued", factory: factory).record(quota.reduce(0) { $0 + $1.queued })
        Gauge(label: "ghl_gateway_upstream_budget_blocked_locations", factory: factory).record(quota.filter { $0.blockedUntil != nil }.count)
        renderPressure(quota)
        for (status, count) in tokens {
            Gauge(label: "ghl_gateway_tokens", dimensions: [("status", status)], factory: factory).record(count)
        }
        for client in backlog {
            Gauge(label: "ghl_gateway_webhook_pending", dimensions: [("client", client.client)], factory: factory).record(client.pending)
            Gauge(label: "ghl_gateway_webhook_oldest_pending_seconds", dimensions: [("client", client.client)], factory: factory)
                .record(client.oldestPendingAt.map { max(0, Date().timeIntervalSince($0)) } ?? 0)
        }
        var text = Self.withHelp(registry.emitToString())
        for figure in Self.processFigures() {
            text += "# HELP \(figure.name) \(Self.help[figure.name] ?? "")\n# TYPE \(figure.name) \(figure.type)\n\(figure.name) \(figure.value)\n"
        }
        return text
    }

    /// `ghl_gateway_upstream_budget_remaining{location}`, `..._daily_remaining{location}` and
    /// `..._queued_requests{location}` for the locations under pressure (the most queued and least
    /// left first, at most `labelledLocations`); a location that is no longer loses its series.
    private func renderPressure(_ quota: [QuotaReport.Location]) {
        let pressed = quota.filter(\.underPressure).sorted { ($0.queued, -$0.remaining) > ($1.queued, -$1.remaining) }
            .prefix(Self.labelledLocations)
        var labelled: Set<String> = []
        for location in pressed {
            let label = "\(location.kind):\(location.id)"
            labelled.insert(label)
            for (name, value) in zip(Self.locationGauges, [location.remaining, location.dailyRemaining, location.queued]) {
                Gauge(label: name, dimensions: [("location", label)], factory: factory).record(value)
            }
        }
        let relieved = pressured.withLock { previous in
            defer { previous = labelled }
            return previous.subtracting(labelled)
        }
        for label in relieved {
            for name in Self.locationGauges { Gauge(label: name, dimensions: [("location", label)], factory: factory).destroy() }
        }
    }

    private func count(_ label: String, _ dimensions: [(String, String)]) {
        Self.cached(in: counters, CounterKey(label: label, dimensions: dimensions.map(\.1))) {
            CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
        }.increment()
    }

    /// The metric object for `key`, made by `make` the first time it is asked for.
    private static func cached<Key: Hashable & Sendable, Value: Sendable>(
        in table: borrowing Mutex<[Key: Value]>, _ key: Key, make: () -> Value
    ) -> Value {
        table.withLock { values in
            if let value = values[key] { return value }
            let value = make()
            values[key] = value
            return value
        }
    }
}
