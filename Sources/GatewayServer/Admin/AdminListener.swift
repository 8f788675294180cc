import Crypto
import Foundation
import GatewayPolicy
import HighLevelOAuth
import Hummingbird
import TokenVault

/// The operators' listener: liveness, readiness, Prometheus metrics, token health and token admin.
/// Token health and token admin need `Authorization: Bearer <admin token>`.
enum AdminListener {
    static func router(gateway: Gateway) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestDurationMetrics(listener: "admin", metrics: gateway.metrics))
        router.add(middleware: AdminRefusalLog(logger: gateway.logger))
        let adminDigest = Array(SHA256.hash(data: Data(gateway.configuration.adminToken.revealed.utf8)))

        router.get("/healthz") { _, _ in text(200, "ok\n") }

        router.get("/readyz") { _, _ -> Response in
            let readiness = await Readiness(gateway: gateway)
            return json(readiness.ready ? 200 : 503, readiness.json)
        }

        router.get("/metrics") { _, _ -> Response in
            let statuses = (try? await TokenHealth(vault: gateway.vault, expiringWithin: gateway.expiringWindow))?.entries.map(\.status) ?? []
            let backlog = (try? await gateway.vault.deliveryBacklog()) ?? []
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: gateway.metrics.render(
                    tokenStatuses: statuses, backlog: backlog, quota: gateway.budget.report(), connections: Array(gateway.connections.values),
                    clients: ClientKeysReport(gateway.policies.snapshot.policies), policies: gateway.policies.status,
                    replicas: gateway.replicas.live))))
        }

        router.get("/health/clients") { request, _ -> Response in
            guard authorized(request, adminDigest) else { return unauthorized() }
            return report(ClientKeysReport(gateway.policies.snapshot.policies), "the client report", for: request)
        }

        router.get("/health/quota") { request, _ -> Response in
            guard authorized(request, adminDigest) else { return unauthorized() }
            let settings = gateway.budget.settings
            let report = QuotaReport(
                enforced: settings.enforced, burst: "\(settings.burst)", daily: settings.daily, queueSeconds: settings.queueSeconds,
                replicas: gateway.replicas.live, locations: gateway.budget.report())
            return Self.report(report, "the quota report", for: request)
        }

        router.get("/health/tokens") { request, _ -> Response in
            guard authorized(request, adminDigest) else { return unauthorized() }
            let query = request.uri.queryParameters
            do {
                let health = try await TokenHealth(vault: gateway.vault, expiringWithin: gateway.expiringWindow)
                return json(200, health.filtered(status: query["status"].map(String.init), location: query["location"].map(String.init)).json())
            } catch {
                return GatewayError(.tokenUnavailable, "the token store is unavailable").response(requestId: RequestID.make())
            }
        }

        router.post("/tokens/refresh") { request, _ -> Response in
            guard authorized(request, adminDigest) else { return unauthorized() }
            let requestId = RequestID.of(request.headers)
            do {
                let owner = try owner(request)
                let token = try await gateway.broker.refresh(owner)
                var body = JSONLine()
                body.add("owner", owner.description)
                body.add("version", String(token.version))
                body.add("expiresAt", ISO8601DateFormatter().string(from: token.expiresAt))
                return json(200, body.text)
            } catch let error as GatewayError {
                return error.response(requestId: requestId)
            } catch let error as BrokerError {
                return TokenSelector.gatewayError(error).response(requestId: requestId)
            } catch {
                return GatewayError(.tokenUnavailable, "refresh failed").response(requestId: requestId)
            }
        }

        router.delete("/tokens") { request, _ -> Response in
            guard authorized(request, adminDigest) else { return unauthorized() }
            let requestId = RequestID.of(request.headers)
            do {
                let owner = try owner(request)
                guard try await gateway.vault.installation(owner) != nil else {
                    throw GatewayError(.notInstalled, "\(owner) is not installed")
                }
                try await gateway.vault.uninstall(owner)
                await gateway.broker.forget(owner)
                gateway.logger.notice("token revoked by an operator", metadata: ["owner": "\(owner)"])
                var body = JSONLine()
                body.add("revoked", owner.description)
                return json(200, body.text)
            } catch let error as GatewayError {
                return error.response(requestId: requestId)
            } catch {
                return GatewayError(.tokenUnavailable, "the token store is unavailable").response(requestId: requestId)
            }
        }
        DeliveryAdmin.addRoutes(to: router, gateway: gateway, adminDigest: adminDigest)
        return router
    }

    /// `?location=ID` or `?company=ID`, exactly one.
    private static func owner(_ request: Request) throws(GatewayError) -> TokenOwner {
        let query = request.uri.queryParameters
        switch (query["location"].map(String.init), query["company"].map(String.init)) {
        case (let location?, nil) where !location.isEmpty: return .location(location)
        case (nil, let company?) where !company.isEmpty: return .company(company)
        default: throw GatewayError(.badRequest, "give exactly one of ?location=ID or ?company=ID")
        }
    }

    /// The presented token's SHA-256 compared with the admin token's in constant time.
    static func authorized(_ request: Request, _ expected: [UInt8]) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let presented = Array(SHA256.hash(data: Data(header.dropFirst(7).utf8)))
        return ConstantTime.equal(presented, expected)
    }

    static func unauthorized() -> Response {
        GatewayError(.unauthenticated, "this endpoint needs Authorization: Bearer <admin token>")
            .response(requestId: RequestID.make())
    }

    /// An admin answer's JSON: sorted keys, ISO 8601 dates.
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A report as JSON (200), or why it could not be written.
    static func report(_ value: some Encodable, _ what: String, for request: Request) -> Response {
        do {
            return json(200, try encode(value))
        } catch {
            return GatewayError(.tokenUnavailable, "\(what) could not be written").response(requestId: RequestID.of(request.headers))
        }
    }

    static func json(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// `GET /readyz`: the database answers, a valid catalog and policy set are loaded, and every
/// listener is bound. A rejected policy edit is reported (the last valid set keeps serving, so
/// the gateway stays ready: taking it out of rotation for a bad edit would be the outage the
/// last-valid-set rule exists to prevent).
struct Readiness {
    var checks: [String: Any] = [:]
    var ready = true

    init(gateway: Gateway) async {
        do {
            try await gateway.vault.ping()
            gateway.databaseOutage.answered()
            checks["database"] = ["ok": true]
        } catch {
            let now = Date()
            let since = gateway.databaseOutage.failed(at: now)
            let grace = gateway.configuration.readinessDatabaseGraceSeconds
            var detail: [String: Any] = ["ok": false, "error": "\(error)", "unreachableSince": ISO8601DateFormatter().string(from: since)]
            if now.timeIntervalSince(since) < grace {
                // Still ready: cached tokens serve; renewals and webhooks wait or ask for a retry.
                detail["readyForSeconds"] = Int((grace - now.timeIntervalSince(since)).rounded(.up))
                checks["database"] = detail
            } else {
                fail("database", detail)
            }
        }
        let store = gateway.policies
        let status = store.status
        var policies: [String: Any] = [
            "ok": store.hasValidPolicies, "clients": store.snapshot.policies.clients.count,
        ]
        if !status.rejectedIssues.isEmpty { policies["rejectedEdit"] = Array(status.rejectedIssues.prefix(5)) }
        if store.hasValidPolicies { checks["policies"] = policies } else { fail("policies", policies) }
        checks["catalog"] = ["ok": true, "routes": store.snapshot.catalog.routes.count]
        // A key near its expiry is a warning for the admin, not a reason to stop serving.
        let keyWarnings = ClientKeysReport(store.snapshot.policies).warnings
        if !keyWarnings.isEmpty { checks["keys"] = ["ok": true, "expiring": keyWarnings] }
        checks["replicas"] = ["ok": true, "live": gateway.replicas.live]
        let bound = await gateway.listeners.all
        let listeners: [String: Any] = [
            "ok": bound.count == BoundListeners.Listener.allCases.count,
            "bound": Dictionary(uniqueKeysWithValues: bound.map { ($0.key.rawValue, $0.value) }),
        ]
        if bound.count == BoundListeners.Listener.allCases.count { checks["listeners"] = listeners } else { fail("listeners", listeners) }
        // A subscriber that answered 410 is reported, not a reason to take the gateway out of service.
        let disabled = gateway.webhookDeliverer.disabledClients
        if !disabled.isEmpty { checks["webhooks"] = ["ok": true, "disabledSubscribers": disabled] }
    }

    private mutating func fail(_ name: String, _ detail: [String: Any]) {
        ready = false
        checks[name] = detail
    }

    var json: String {
        let body: [String: Any] = ["status": ready ? "ready" : "not_ready", "checks": checks]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
