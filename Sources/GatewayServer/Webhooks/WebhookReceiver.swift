import Crypto
import Foundation
import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import HighLevelOAuth
import Hummingbird
import Logging
import ScopeCatalog
import TokenVault
import Tracing

/// `POST /webhooks/highlevel`: verify the signature over the raw bytes before anything else,
/// check the delivery is for this app (and, for INSTALL, an allowed company), drop replays, then act on INSTALL and UNINSTALL and keep
/// other events (with their catalog scopes) for fan-out.
struct WebhookReceiver: Sendable {
    let verifier: WebhookVerifier
    let settings: GatewayConfiguration.Webhooks
    let appId: String
    /// `install.allowed_companies`: an INSTALL for any other company is acknowledged and ignored.
    let allowedCompanies: Set<String>?
    let vault: any EventStore & InstallationStore
    let broker: TokenBroker
    let policies: PolicyStore
    let worker: WebhookWorker
    let deliverer: WebhookDeliverer
    /// Events no client subscribes to, by type (`/health/webhooks`).
    let unrouted: UnroutedEvents
    /// Where each install and uninstall HighLevel announces is kept (`audit:`).
    let audit: AuditTrail?
    let metrics: GatewayMetrics
    let tracing: GatewayTracing?
    let logger: Logger

    enum Outcome: String {
        case accepted, duplicate, ignored
    }

    func receive(_ request: Request) async -> Response {
        let requestId = RequestID.of(request.headers)
        // The receipt is a span of its own in the sender's trace (or in a new one); every delivery
        // of the event names it as its parent.
        let sent = request.headers[TraceParent.header]
        let span = tracing?.startSpan("POST /webhooks/highlevel", kind: .server, parent: sent)
        let receipt =
            span.flatMap { tracing?.traceParent(of: $0) }.flatMap(TraceParent.init)
            ?? sent.flatMap(TraceParent.init)?.child() ?? .start()
        let response: Response
        do {
            let outcome = try await handle(request, receipt: receipt)
            var body = JSONLine()
            body.add("status", outcome.rawValue)
            span?.attributes["ghl.webhook.outcome"] = outcome.rawValue
            response = Response(
                status: .ok, headers: [.contentType: "application/json", RequestID.header: requestId],
                body: .init(byteBuffer: ByteBuffer(string: body.text)))
        } catch {
            logger.warning("webhook refused", metadata: ["code": "\(error.code.rawValue)", "reason": "\(error.message)"])
            span?.attributes["ghl.error.code"] = error.code.rawValue
            var refusal = error.response(requestId: requestId)
            refusal.headers[RequestID.header] = requestId
            response = refusal
        }
        if let span {
            span.attributes["http.response.status_code"] = response.status.code
            span.end()
        }
        return response
    }

    /// Verified, for this app and fresh, then kept with its fan-out (and an INSTALL's or
    /// UNINSTALL's effect) unless it is a repeat.
    private func handle(_ request: Request, receipt trace: TraceParent) async throws(GatewayError) -> Outcome {
        let (body, payload) = try await verified(request)
        let type = (payload["type"] as? String) ?? "unknown"
        let label = metricType(type)
        let lifecycle = PolicyLoader.lifecycleEvents.contains(type)
        if isIgnored(type, payload, lifecycle: lifecycle, label: label) {
            count(label, "ignored")
            return .ignored
        }
        try checkTimestamp(payload, lifecycle: lifecycle, label: label)
        return try await keep(type, payload, body: body, lifecycle: lifecycle, label: label, trace: trace)
    }

    /// The body, read within its bound, its signature checked over the raw bytes before anything
    /// else, and parsed as a JSON object.
    private func verified(_ request: Request) async throws(GatewayError) -> (body: Data, payload: [String: Any]) {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
        } catch {
            count("unverified", "too_large")
            throw GatewayError(.payloadTooLarge, "webhook bodies over \(settings.maxBodyBytes) bytes are refused")
        }
        let body = Data(buffer.readableBytesView)
        let verdict = verifier.verify(
            body: body, ed25519Signature: request.headers[Self.ed25519Header], rsaSignature: request.headers[Self.rsaHeader])
        guard case .valid(let scheme) = verdict else {
            count("unverified", "bad_signature")
            throw GatewayError(.unauthenticated, verdict == .missing ? "missing webhook signature" : "invalid webhook signature")
        }
        metrics.webhookSignature(scheme: scheme == .rsa ? "rsa_legacy" : scheme.rawValue)
        if scheme == .rsa {
            logger.notice("webhook verified by the legacy RSA signature (x-wh-signature); HighLevel announced its removal on 2026-07-01")
        }
        guard let payload = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            count("unverified", "not_json")
            throw GatewayError(.badRequest, "the webhook body is not a JSON object")
        }
        return (body, payload)
    }

    /// Acknowledged and dropped: another app's event, a lifecycle event naming no app, an INSTALL
    /// of a company outside `install.allowed_companies`.
    private func isIgnored(_ type: String, _ payload: [String: Any], lifecycle: Bool, label: String) -> Bool {
        if let deliveredApp = payload["appId"] as? String, deliveredApp != appId {
            logger.notice("webhook for another app ignored", metadata: ["type": "\(label)", "appId": "\(deliveredApp.prefix(40))"])
            return true
        }
        if lifecycle, payload["appId"] == nil { return true }
        if PolicyLoader.installEvents.contains(type), let allowedCompanies, !allowedCompanies.contains(payload["companyId"] as? String ?? "") {
            logger.notice(
                "INSTALL for a company outside install.allowed_companies ignored",
                metadata: [
                    "company": "\((payload["companyId"] as? String ?? "-").prefix(40))"
                ])
            return true
        }
        return false
    }

    /// A timestamp that does not parse would skip the age check, so it is refused, as is a
    /// lifecycle event without one (HighLevel documents it on those); a CRM event without one
    /// (not every event page lists it) is kept from replay by its webhookId alone.
    private func checkTimestamp(_ payload: [String: Any], lifecycle: Bool, label: String) throws(GatewayError) {
        let stamp = payload["timestamp"]
        guard stamp != nil || lifecycle else { return }
        guard let timestamp = Self.date(stamp) else {
            count(label, "stale")
            throw GatewayError(.badRequest, "the webhook timestamp is missing or unreadable")
        }
        let age = Date().timeIntervalSince(timestamp)
        guard age <= settings.maxAgeSeconds, age >= -settings.maxClockSkewSeconds else {
            count(label, "stale")
            throw GatewayError(.badRequest, "the webhook timestamp is outside the accepted window")
        }
    }

    /// Stores the event with one delivery per subscriber and its lifecycle change in one
    /// transaction (a repeat stores nothing), then wakes the deliverer and carries the change out.
    private func keep(
        _ type: String, _ payload: [String: Any], body: Data, lifecycle: Bool, label: String, trace: TraceParent
    ) async throws(GatewayError) -> Outcome {
        let webhookId =
            (payload["webhookId"] as? String)
            ?? ("sha256:" + ASCIIHex.string(SHA256.hash(data: body)))
        let locationId = payload["locationId"] as? String
        let companyId = payload["companyId"] as? String
        let snapshot = policies.snapshot
        let scopes = lifecycle ? [] : snapshot.catalog.events[type] ?? []
        let subscribers = snapshot.policies.clients.values
            .filter { $0.receives(type: type, scopes: scopes, locationId: locationId, companyId: companyId).delivered }
            .map(\.name).sorted()
        let delivery = WebhookEvent(
            webhookId: webhookId, type: type, scopes: scopes, locationId: locationId, companyId: companyId,
            payload: lifecycle && subscribers.isEmpty ? nil : body, traceParent: trace.description)
        do {
            let change = try await lifecycleChange(type, payload, locationId: locationId, companyId: companyId)
            guard
                try await vault.rememberWebhook(
                    delivery, subscribers: subscribers, change: change, retention: settings.retentionHours * 3_600)
            else {
                count(label, "duplicate")
                return .duplicate
            }
            if !subscribers.isEmpty { deliverer.notify() }
            if subscribers.isEmpty, !lifecycle {
                unrouted.add(label)
                metrics.webhookUnrouted(type: label)
            }
            await carryOut(change, webhookId: webhookId, locationId: locationId, companyId: companyId)
            if let change {
                let action = if case .uninstall = change { "uninstall" } else { "install" }
                audit?.admin(
                    action, "done", detail: "\(label) for \(companyId.map { "company:\($0)" } ?? locationId.map { "location:\($0)" } ?? "?")")
            }
        } catch {
            count(label, "error")
            logger.error("webhook not stored; HighLevel is asked to retry", metadata: ["type": "\(label)", "error": "\(error)"])
            // HighLevel retries a webhook only after a 429.
            throw GatewayError(.rateLimited, "the webhook could not be stored; retry", retryAfter: 5)
        }
        count(label, "accepted")
        logger.info(
            "webhook accepted",
            metadata: [
                "type": "\(label)", "location": "\(locationId ?? "-")", "company": "\(companyId ?? "-")",
                "subscribers": .stringConvertible(subscribers.count), "traceId": "\(trace.traceId)", "spanId": "\(trace.parentId)",
            ])
        return .accepted
    }

    /// What an INSTALL or UNINSTALL changes, stored with the event in one transaction.
    private func lifecycleChange(
        _ type: String, _ payload: [String: Any], locationId: String?, companyId: String?
    ) async throws(VaultError) -> LifecycleChange? {
        let companyWide = payload["installType"] as? String == "Company" || locationId == nil
        switch type {
        case _ where PolicyLoader.installEvents.contains(type):
            let planId = payload["planId"] as? String
            if companyWide {
                guard let companyId else { return nil }
                return .install(.company(companyId), companyId: companyId, planId: planId, followUp: .reconcile)
            }
            guard let locationId else { return nil }
            let hasToken = try await vault.token(for: .location(locationId)) != nil
            let needsToken = companyId != nil && !hasToken
            return .install(.location(locationId), companyId: companyId, planId: planId, followUp: needsToken ? .exchange : nil)
        case _ where PolicyLoader.uninstallEvents.contains(type):
            if companyWide {
                guard let companyId else { return nil }
                return .uninstall([.company(companyId)] + (try await vault.locationsDerived(fromCompany: companyId)).map(TokenOwner.location))
            }
            return locationId.map { .uninstall([.location($0)]) }
        default:
            return nil
        }
    }

    /// After the change is stored: cached tokens of uninstalled owners are dropped, and an
    /// INSTALL's follow-up is handed to the worker (which marks it done in the vault).
    private func carryOut(_ change: LifecycleChange?, webhookId: String, locationId: String?, companyId: String?) async {
        switch change {
        case .uninstall(let owners):
            for owner in owners { await broker.forget(owner) }
            logger.notice("uninstalled; tokens deleted", metadata: ["owners": "\(owners.map(\.description))"])
        case .install(_, _, _, let followUp?):
            worker.enqueue(WebhookFollowUp(webhookId: webhookId, kind: followUp, locationId: locationId, companyId: companyId))
        case .install, nil:
            break
        }
    }

    /// Event types the catalog knows keep their name in metrics; anything else is `other`.
    private func metricType(_ type: String) -> String {
        PolicyLoader.lifecycleEvents.contains(type) || policies.snapshot.catalog.events[type] != nil ? type : "other"
    }

    private func count(_ type: String, _ outcome: String) {
        metrics.webhook(type: type, outcome: outcome)
    }

    static let ed25519Header = HTTPField.Name("x-ghl-signature")!
    static let rsaHeader = HTTPField.Name("x-wh-signature")!

    /// ISO 8601 (with or without fractional seconds) or epoch milliseconds.
    static func date(_ value: Any?) -> Date? {
        if let number = value as? NSNumber { return Date(timeIntervalSince1970: number.doubleValue / 1_000) }
        guard let text = value as? String else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text) ?? Double(text).map { Date(timeIntervalSince1970: $0 / 1_000) }
    }
}
