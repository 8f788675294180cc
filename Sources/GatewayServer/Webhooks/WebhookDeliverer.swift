import AsyncHTTPClient
import Foundation
import GatewayPolicy
import GatewayRuntime
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TokenVault
import Tracing

/// Delivers the stored events to the internal services that subscribe to them: signed per the
/// Standard Webhooks specification, at least once, retried on the configured schedule, durable
/// across restarts (every pending delivery is a row; the loop only reads what is due).
///
/// Isolation: at most `concurrency` attempts run at once and at most `perClient` of them for one
/// subscriber, so a dead or slow subscriber holds only its own slots, never another's, and never
/// the receiver's answer to HighLevel (the receiver only writes rows and rings the doorbell).
final class WebhookDeliverer: Service, Sendable {
    struct Settings: Sendable {
        var retryDelays: [Double]
        var timeoutSeconds: Double
        var concurrency: Int
        var perClient: Int { max(1, concurrency / 4) }
        /// How long a claimed delivery is this process's: well past an attempt's timeout. A replica
        /// that died mid-attempt leaves its rows to another sooner: once its heartbeat is stale, or
        /// at once when it restarts (`DeliveryClaim`).
        var claimSeconds: Double { timeoutSeconds * 2 + 30 }
    }

    private let settings: Settings
    private let vault: any EventStore
    /// Whose claims this deliverer takes, and which replicas are alive.
    private let replicas: ReplicaHeartbeat
    private let policies: PolicyStore
    private let http: HTTPClient
    private let metrics: GatewayMetrics
    private let tracing: GatewayTracing?
    private let logger: Logger
    private let doorbell = Doorbell()
    /// Deliveries being attempted now, and per client.
    private let busy = Mutex<(ids: Set<Int64>, perClient: [String: Int])>(([], [:]))
    /// Subscribers that answered 410 Gone, with the subscription that did: disabled until it changes.
    private let gone = Mutex<[String: WebhookSubscription]>([:])
    /// Longest wait between looks at the table, so a due time written by another process is seen.
    private static let idleLook: Duration = .seconds(1)

    init(
        settings: Settings, vault: any EventStore, replicas: ReplicaHeartbeat, policies: PolicyStore, http: HTTPClient,
        metrics: GatewayMetrics, tracing: GatewayTracing?, logger: Logger
    ) {
        self.tracing = tracing
        self.settings = settings
        self.vault = vault
        self.replicas = replicas
        self.policies = policies
        self.http = http
        self.metrics = metrics
        self.logger = logger
    }

    /// Subscribers whose deliveries are disabled after a 410 Gone.
    var disabledClients: [String] { gone.withLock { $0.keys.sorted() } }

    /// New deliveries were stored: look now rather than at the next due time.
    func notify() { doorbell.ring() }

    func run() async {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                while !Task.isShuttingDownGracefully, !Task.isCancelled {
                    let claimed = await due()
                    for delivery in claimed {
                        group.addTask { await self.attempt(delivery) }
                    }
                    // More may be claimable at once; otherwise wait for a slot, new rows or the next due time.
                    if claimed.isEmpty || busy.withLock({ $0.ids.count }) >= settings.concurrency {
                        await sleepUntilNextLook()
                    }
                }
            } onGracefulShutdown: {
                self.doorbell.ring()
            }
        }
    }

    /// Claims what is due within the free slots.
    private func due() async -> [DueDelivery] {
        let slots = busy.withLock { busy in
            DeliverySlots(total: settings.concurrency, perClient: settings.perClient, busy: busy.ids, busyPerClient: busy.perClient)
        }
        guard slots.busy.count < slots.total else { return [] }
        let claimed: [DueDelivery]
        do {
            let now = Date()
            let claim = replicas.deliveryClaim(now: now, until: now.addingTimeInterval(settings.claimSeconds))
            claimed = try await vault.claimDueDeliveries(now: now, claim: claim, slots: slots)
        } catch {
            logger.error("webhook deliveries not read", metadata: ["error": "\(error)"])
            return []
        }
        busy.withLock { busy in
            for delivery in claimed {
                busy.ids.insert(delivery.id)
                busy.perClient[delivery.client, default: 0] += 1
            }
        }
        return claimed
    }

    /// Until the doorbell rings (an attempt finished, rows were stored, shutdown) or the next due
    /// time, at most `idleLook`. Rows already due but not claimable (no free slot, or their
    /// client at its share) wait for the doorbell: an attempt finishing frees a slot.
    private func sleepUntilNextLook() async {
        let next = (try? await vault.nextDeliveryDue()) ?? nil
        var wait = Self.idleLook
        if let next, next.timeIntervalSinceNow > 0 {
            wait = min(wait, .milliseconds(Int64(next.timeIntervalSinceNow * 1000) + 1))
        }
        let doorbell = self.doorbell
        // Rings only when the time is up: a timer cancelled because something else rang must not
        // ring (a ring is kept for the next wait, which would then return at once, forever).
        let timer = Task {
            guard (try? await Task.sleep(for: wait)) != nil else { return }
            doorbell.ring()
        }
        await doorbell.wait()
        timer.cancel()
    }

    // MARK: One attempt

    /// What an attempt came to, and the line that reports it once it is stored.
    private struct Attempt {
        var outcome: DeliveryOutcome
        var message: String
        var level: Logger.Level = .info
        var status: Int?
        var latency: Duration?
    }

    private func attempt(_ delivery: DueDelivery) async {
        defer {
            busy.withLock { busy in
                busy.ids.remove(delivery.id)
                busy.perClient[delivery.client, default: 1] -= 1
            }
            doorbell.ring()
        }
        // Exported, an attempt is a span of its own under the event's receipt, and the subscriber
        // is told that span; otherwise it is told the receipt's.
        let span = tracing?.startSpan("webhook delivery \(delivery.type)", kind: .client, parent: delivery.traceParent)
        let traceParent = span.flatMap { tracing?.traceParent(of: $0) } ?? delivery.traceParent
        // An attempt cut short by shutdown is not one: the row stays due and is sent after restart.
        let made = await send(delivery, traceParent: traceParent)
        if let span {
            span.attributes["ghl.client"] = delivery.client
            span.attributes["ghl.webhook.type"] = delivery.type
            if let status = made?.status { span.attributes["http.response.status_code"] = status }
            // Anything but a delivery (a retry, a failure, an attempt cut off by shutdown) is an error.
            switch made?.outcome {
            case .delivered?: break
            default: span.setStatus(SpanStatus(code: .error))
            }
            span.end()
        }
        guard let attempt = made else { return }
        do {
            try await vault.recordDelivery(delivery.id, attempt.outcome)
        } catch {
            logger.error(
                "webhook delivery outcome not stored; it will be attempted again",
                metadata: [
                    "client": "\(delivery.client)", "webhookId": "\(delivery.webhookId.prefix(64))", "error": "\(error)",
                ])
            return
        }
        var metadata: Logger.Metadata = [
            "client": "\(delivery.client)", "type": "\(delivery.type)", "webhookId": "\(delivery.webhookId.prefix(64))",
            "attempt": .stringConvertible(delivery.attempts + 1),
        ]
        if let status = attempt.status { metadata["status"] = .stringConvertible(status) }
        if let latency = attempt.latency {
            metadata["latencyMs"] = .stringConvertible(
                Int(latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000))
        }
        logger.log(level: attempt.level, "\(attempt.message)", metadata: metadata)
    }

    private func send(_ delivery: DueDelivery, traceParent: String?) async -> Attempt? {
        guard let client = policies.snapshot.policies.clients[delivery.client], let subscription = client.webhooks else {
            metrics.webhookDelivery(client: "-", outcome: "dropped")
            return Attempt(
                outcome: .failed(status: nil, error: "client \(delivery.client) was removed or no longer subscribes"),
                message: "webhook delivery dropped: the client was removed or no longer subscribes", level: .notice)
        }
        if let disabled = gone.withLock({ $0[client.name] }) {
            guard disabled != subscription else {
                metrics.webhookDelivery(client: client.name, outcome: "disabled")
                return Attempt(
                    outcome: .failed(status: 410, error: "deliveries to \(client.name) are disabled (it answered 410 Gone) until its policy changes"),
                    message: "webhook delivery dropped: the subscriber answered 410 Gone earlier; disabled until its policy changes",
                    level: .notice)
            }
            gone.withLock { _ = $0.removeValue(forKey: client.name) }
        }
        let messageId = StandardWebhookSignature.messageId(webhookId: delivery.webhookId, client: client.name)
        let timestamp = Int(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: subscription.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ghl-gateway")
        request.headers.add(name: "webhook-id", value: messageId)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(
            name: "webhook-signature",
            value: StandardWebhookSignature.header(id: messageId, timestamp: timestamp, body: delivery.payload, secrets: subscription.secrets))
        request.headers.add(name: Self.eventTypeHeader, value: delivery.type)
        if let traceParent { request.headers.add(name: TraceParent.header.rawName, value: traceParent) }
        request.body = .bytes(ByteBuffer(bytes: delivery.payload))
        let started = ContinuousClock.now
        let status: Int
        let retryAfter: Double?
        do {
            let (http, timeout, request) = (self.http, self.settings.timeoutSeconds, request)
            let response = try await cancelWhenGracefulShutdown {
                try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            }
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
            _ = try? await response.body.collect(upTo: 64 * 1024)
        } catch {
            if Task.isShuttingDownGracefully { return nil }
            var attempt = retryOrFail(delivery, client: client.name, status: nil, error: Self.describe(error), retryAfter: nil)
            attempt.latency = ContinuousClock.now - started
            return attempt
        }
        let latency = ContinuousClock.now - started
        if (200..<300).contains(status) {
            metrics.webhookDelivery(client: client.name, outcome: "delivered")
            metrics.webhookDelivered(after: Date().timeIntervalSince(delivery.createdAt))
            return Attempt(outcome: .delivered(status: status), message: "webhook delivery delivered", status: status, latency: latency)
        }
        if status == 410 {
            gone.withLock { $0[client.name] = subscription }
            metrics.webhookDelivery(client: client.name, outcome: "gone")
            return Attempt(
                outcome: .failed(status: status, error: "the subscriber answered 410 Gone"),
                message: "webhook subscriber answered 410 Gone: its deliveries are disabled until its policy changes", level: .warning,
                status: status, latency: latency)
        }
        var attempt = retryOrFail(delivery, client: client.name, status: status, error: "HTTP \(status)", retryAfter: retryAfter)
        attempt.latency = latency
        return attempt
    }

    /// The next attempt after the schedule's delay for this attempt (±20 %, or later when the
    /// subscriber asked with `Retry-After`), or failed once the schedule is used up.
    private func retryOrFail(
        _ delivery: DueDelivery, client: String, status: Int?, error: String, retryAfter: Double?
    ) -> Attempt {
        guard delivery.attempts < settings.retryDelays.count else {
            metrics.webhookDelivery(client: client, outcome: "failed")
            return Attempt(
                outcome: .failed(status: status, error: error), message: "webhook delivery failed after every retry", level: .warning,
                status: status)
        }
        metrics.webhookDelivery(client: client, outcome: "retry")
        let delay = settings.retryDelays[delivery.attempts] * Double.random(in: 0.8...1.2)
        let wait = max(delay, min(retryAfter ?? 0, settings.retryDelays.max() ?? delay))
        return Attempt(
            outcome: .retry(at: Date().addingTimeInterval(wait), status: status, error: error),
            message: "webhook delivery attempt failed (\(error)); retried later", status: status)
    }

    /// Connection and timeout failures without the URL (its query may hold a credential).
    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            "timed out"
        case is HTTPClientError:
            "HTTP client error"
        default:
            "connection failed"
        }
    }

    static let eventTypeHeader = "X-GHL-Event-Type"
}
