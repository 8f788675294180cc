import Foundation
import GatewayRuntime
import HighLevelOAuth
import Hummingbird
import TokenVault

/// Token operations (admin token): renew a token now, or revoke it (the installation is marked
/// uninstalled and the in-memory copy dropped); `tokens refresh|revoke` done inside the running dependencies.
enum TokenAdmin {
    static func addRoutes(to router: Router<BasicRequestContext>, dependencies: AdminDependencies, adminDigest: [UInt8]) {
        router.post("/tokens/refresh") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let requestId = RequestID.of(request.headers)
            do {
                let owner = try owner(request)
                let token = try await dependencies.broker.refresh(owner)
                dependencies.audit?.admin("token.refresh", "done", detail: owner.description, requestId: requestId)
                var body = JSONLine()
                body.add("owner", owner.description)
                body.add("version", String(token.version))
                body.add("expiresAt", ISO8601DateFormatter().string(from: token.expiresAt))
                return AdminListener.json(200, body.text)
            } catch let error as GatewayError {
                return error.response(requestId: requestId)
            } catch let error as BrokerError {
                return GatewayError(error).response(requestId: requestId)
            } catch {
                return GatewayError(.tokenUnavailable, "refresh failed").response(requestId: requestId)
            }
        }

        router.delete("/tokens") { request, _ -> Response in
            guard AdminListener.authorized(request, adminDigest) else { return AdminListener.unauthorized() }
            let requestId = RequestID.of(request.headers)
            do {
                let owner = try owner(request)
                guard try await dependencies.vault.installation(owner) != nil else {
                    throw GatewayError(.notInstalled, "\(owner) is not installed")
                }
                try await dependencies.vault.uninstall(owner)
                await dependencies.broker.forget(owner)
                dependencies.logger.notice("token revoked by an operator", metadata: ["owner": "\(owner)"])
                dependencies.audit?.admin("token.revoke", "done", detail: owner.description, requestId: requestId)
                var body = JSONLine()
                body.add("revoked", owner.description)
                return AdminListener.json(200, body.text)
            } catch let error as GatewayError {
                return error.response(requestId: requestId)
            } catch {
                return GatewayError(.tokenUnavailable, "the token store is unavailable").response(requestId: requestId)
            }
        }
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
}
