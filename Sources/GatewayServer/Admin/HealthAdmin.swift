import GatewayRuntime
import Hummingbird

/// The operators' reports (admin token): client keys, HighLevel's budget per location, and
/// token health.
enum HealthAdmin {
    static func addRoutes(to router: Router<BasicRequestContext>, dependencies: AdminDependencies, adminDigest: [UInt8]) {
        router.get("/health/clients") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            return AdminListener.report(ClientKeysReport(dependencies.policies.snapshot.policies), "the client report", for: request)
        }

        router.get("/health/quota") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let settings = dependencies.budget.settings
            let report = QuotaReport(
                enforced: settings.enforced, burst: "\(settings.burst)", daily: settings.daily, queueSeconds: settings.queueSeconds,
                replicas: dependencies.replicas.live, locations: dependencies.budget.report())
            return AdminListener.report(report, "the quota report", for: request)
        }

        router.get("/health/tokens") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let query = request.uri.queryParameters
            do {
                let health = try await TokenHealth(vault: dependencies.vault, expiringWithin: dependencies.expiringWindow)
                return AdminListener.json(
                    200, health.filtered(status: query["status"].map(String.init), location: query["location"].map(String.init)).json())
            } catch {
                return GatewayError(.tokenUnavailable, "the token store is unavailable").response(requestId: RequestID.make())
            }
        }
    }
}
