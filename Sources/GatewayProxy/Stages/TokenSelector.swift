import GatewayPolicy
import GatewayRuntime
import HighLevelOAuth
import ScopeCatalog
import TokenVault

/// Picks whose HighLevel token serves a route (Access Type: Sub-Account → the location's,
/// Agency → the company's; the `-Only` kinds the same, and never the other kind) and gets it
/// from the broker, checking it carries the route's scope.
struct TokenSelector: Sendable {
    let broker: TokenBroker

    /// Fills in the company of an Agency-only route from the target location's installation.
    func completing(_ target: RequestTarget, for route: CatalogRoute) async -> RequestTarget {
        guard Self.needsCompletion(target, for: route), let location = target.location,
            let installation = try? await broker.vault.installation(.location(location))
        else { return target }
        return RequestTarget(location: location, company: installation.companyId)
    }

    /// Whether `completing` would look the company up: an Agency-only route named by its location.
    static func needsCompletion(_ target: RequestTarget, for route: CatalogRoute) -> Bool {
        // Not `== [.company]`: a set literal would be built for every request.
        route.tokenKinds.count == 1 && route.tokenKinds.contains(.company) && target.company == nil && target.location != nil
    }

    static func owner(for route: CatalogRoute, target: RequestTarget) throws(GatewayError) -> TokenOwner {
        let kinds = route.tokenKinds
        if kinds.contains(.location), let location = target.location { return .location(location) }
        if kinds.contains(.company), let company = target.company { return .company(company) }
        if kinds.contains(.location) {
            throw GatewayError(
                .locationRequired,
                "\(route) takes a location's token: name the location (path, locationId query, X-Location-Id header or JSON body)")
        }
        if kinds.contains(.company) {
            throw GatewayError(.badRequest, "\(route) takes the company's (agency) token: name the company with companyId or X-Company-Id")
        }
        throw GatewayError(.policyDenied, "the catalog gives \(route) no access type, so it is never forwarded")
    }

    static func checkScope(_ route: CatalogRoute, _ token: AccessToken) throws(GatewayError) {
        guard route.scopes.contains(where: token.scopes.contains) else {
            throw GatewayError(
                .scopeNotInstalled,
                "the installed token of \(token.owner) lacks the scope \(route) needs (one of: \(route.scopes.joined(separator: ", "))); "
                    + "add it to highlevel.install_scopes and reinstall the app")
        }
    }
}
