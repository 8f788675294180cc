import Foundation
import GatewayRuntime

/// `GET /readyz`: the database answers, a valid catalog and policy set are loaded, and every
/// listener is bound. A rejected policy edit is reported (the last valid set keeps serving, so
/// the gateway stays ready: taking it out of rotation for a bad edit would be the outage the
/// last-valid-set rule exists to prevent).
struct Readiness {
    var checks: [String: Any] = [:]
    var ready = true

    init(dependencies: AdminDependencies) async {
        do {
            try await dependencies.vault.ping()
            dependencies.databaseOutage.answered()
            checks["database"] = ["ok": true]
        } catch {
            let now = Date()
            let since = dependencies.databaseOutage.failed(at: now)
            let grace = dependencies.readinessDatabaseGraceSeconds
            var detail: [String: Any] = ["ok": false, "error": "\(error)", "unreachableSince": ISO8601DateFormatter().string(from: since)]
            if now.timeIntervalSince(since) < grace {
                // Still ready: cached tokens serve; renewals and webhooks wait or ask for a retry.
                detail["readyForSeconds"] = Int((grace - now.timeIntervalSince(since)).rounded(.up))
                checks["database"] = detail
            } else {
                fail("database", detail)
            }
        }
        let store = dependencies.policies
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
        checks["replicas"] = ["ok": true, "live": dependencies.replicas.live]
        let bound = await dependencies.listeners.all
        let listeners: [String: Any] = [
            "ok": bound.count == ListenerKind.allCases.count,
            "bound": Dictionary(uniqueKeysWithValues: bound.map { ($0.key.rawValue, $0.value) }),
        ]
        if bound.count == ListenerKind.allCases.count { checks["listeners"] = listeners } else { fail("listeners", listeners) }
        // A subscriber that answered 410 is reported, not a reason to take the gateway out of service.
        let disabled = dependencies.webhookDeliverer.disabledClients
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
