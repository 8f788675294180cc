import Hummingbird

/// The probes and the scrape, open to the network the admin listener is on (no admin token):
/// liveness, readiness (`Readiness`) and Prometheus metrics.
enum ProbeAdmin {
    static func addRoutes(to router: Router<BasicRequestContext>, gateway: Gateway) {
        router.get("/healthz") { _, _ in AdminListener.text(200, "ok\n") }

        router.get("/readyz") { _, _ -> Response in
            let readiness = await Readiness(gateway: gateway)
            return AdminListener.json(readiness.ready ? 200 : 503, readiness.json)
        }

        router.get("/metrics") { _, _ -> Response in
            let statuses = (try? await TokenHealth(vault: gateway.vault, expiringWithin: gateway.expiringWindow))?.entries.map(\.status) ?? []
            let backlog = (try? await gateway.vault.deliveryBacklog()) ?? []
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: gateway.metrics.render(
                            tokenStatuses: statuses, backlog: backlog, quota: gateway.budget.report(), connections: Array(gateway.connections.values),
                            clients: ClientKeysReport(gateway.policies.snapshot.policies), policies: gateway.policies.status,
                            replicas: gateway.replicas.live))))
        }
    }
}
