import GatewayRuntime
import Hummingbird

/// The probes and the scrape, open to the network the admin listener is on (no admin token):
/// liveness, readiness (`Readiness`) and Prometheus metrics.
enum ProbeAdmin {
    static func addRoutes(to router: Router<BasicRequestContext>, dependencies: AdminDependencies) {
        router.get("/healthz") { _, _ in AdminListener.text(200, "ok\n") }

        router.get("/readyz") { _, _ -> Response in
            let readiness = await Readiness(dependencies: dependencies)
            return AdminListener.json(readiness.ready ? 200 : 503, readiness.json)
        }

        router.get("/metrics") { _, _ -> Response in
            let tokens =
                (try? await TokenHealth(vault: dependencies.vault, expiringWithin: dependencies.expiringWindow))?.counts ?? TokenHealth.counts([])
            let backlog = (try? await dependencies.vault.deliveryBacklog()) ?? []
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: dependencies.metrics.render(
                            tokens: tokens, backlog: backlog, quota: dependencies.budget.report(), connections: dependencies.connections,
                            clients: ClientKeysReport(dependencies.policies.snapshot.policies), policies: dependencies.policies.status,
                            replicas: dependencies.replicas.live))))
        }
    }
}
