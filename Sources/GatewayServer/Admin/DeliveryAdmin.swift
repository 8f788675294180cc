import Foundation
import GatewayRuntime
import Hummingbird
import TokenVault

/// The operators' view of webhook fan-out (admin token): deliveries by client, status and type,
/// and retries of one delivery or of a range.
enum DeliveryAdmin {
    /// One subscriber as `GET /health/webhooks` summarises it.
    struct Health: Encodable {
        var client: String
        var pending: Int
        var failed: Int
        var oldestPendingAt: Date?
        var failingSince: Date?
        var disabled: Bool
    }

    static let statuses: Set<String> = ["pending", "delivered", "failed"]

    static func addRoutes(to router: Router<BasicRequestContext>, dependencies: AdminDependencies, adminDigest: [UInt8]) {
        router.get("/webhooks/deliveries") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let query = request.uri.queryParameters
            let status = query["status"].map(String.init)
            if let status, !statuses.contains(status) {
                return GatewayError(.badRequest, "status is pending, delivered or failed").response(requestId: RequestID.of(request.headers))
            }
            do {
                let records = try await dependencies.vault.deliveries(
                    client: query["client"].map(String.init), status: status, type: query["type"].map(String.init))
                return AdminListener.json(200, try AdminListener.encode(["deliveries": records]))
            } catch {
                return unavailable(request)
            }
        }

        router.get("/health/webhooks") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            do {
                let disabled = Set(dependencies.webhookDeliverer.disabledClients)
                let subscribers = Set(dependencies.policies.snapshot.policies.clients.values.filter { $0.webhooks != nil }.map(\.name))
                var clients = try await dependencies.vault.deliveryBacklog().map {
                    Health(
                        client: $0.client, pending: $0.pending, failed: $0.failed, oldestPendingAt: $0.oldestPendingAt,
                        failingSince: $0.failingSince, disabled: disabled.contains($0.client))
                }
                for client in subscribers.subtracting(clients.map(\.client)) {
                    clients.append(Health(client: client, pending: 0, failed: 0, disabled: disabled.contains(client)))
                }
                clients.sort { $0.client < $1.client }
                struct Body: Encodable {
                    var clients: [Health]
                    /// Events stored since start that no client subscribes to, by type.
                    var unrouted: [String: Int]
                }
                return AdminListener.json(200, try AdminListener.encode(Body(clients: clients, unrouted: dependencies.unroutedEvents.byType)))
            } catch {
                return unavailable(request)
            }
        }

        router.post("/webhooks/deliveries/retry") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let query = request.uri.queryParameters
            guard let sinceText = query["since"].map(String.init), let since = ISO8601DateFormatter().date(from: sinceText) else {
                return GatewayError(.badRequest, "since must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z")
                    .response(requestId: RequestID.of(request.headers))
            }
            do {
                let count = try await dependencies.vault.retryDeliveries(client: query["client"].map(String.init), since: since)
                dependencies.webhookDeliverer.notify()
                dependencies.logger.notice("failed webhook deliveries queued again by an operator", metadata: ["count": "\(count)"])
                dependencies.audit?.admin(
                    "webhooks.retry", "done", detail: "\(count) since \(sinceText)" + (query["client"].map { " for \($0)" } ?? ""),
                    requestId: RequestID.of(request.headers))
                return AdminListener.json(200, try AdminListener.encode(["retried": count]))
            } catch {
                return unavailable(request)
            }
        }

        router.post("/webhooks/deliveries/:id/retry") { request, context -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            guard let id = context.parameters.get("id").flatMap({ Int64($0) }) else {
                return GatewayError(.badRequest, "the delivery id is a number").response(requestId: RequestID.of(request.headers))
            }
            do {
                guard try await dependencies.vault.retryDelivery(id) else {
                    return GatewayError(.badRequest, "no delivery \(id)").response(requestId: RequestID.of(request.headers))
                }
                dependencies.webhookDeliverer.notify()
                dependencies.audit?.admin("webhooks.retry", "done", detail: "delivery \(id)", requestId: RequestID.of(request.headers))
                return AdminListener.json(200, try AdminListener.encode(["retried": id]))
            } catch {
                return unavailable(request)
            }
        }
    }

    private static func unavailable(_ request: Request) -> Response {
        GatewayError(.tokenUnavailable, "the delivery store is unavailable").response(requestId: RequestID.of(request.headers))
    }
}
