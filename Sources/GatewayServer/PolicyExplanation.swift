import GatewayPolicy
import HTTPTypes
import ScopeCatalog

/// What `policy explain` prints: how the proxy would treat one request for one client, step by
/// step, without calling anything.
package struct PolicyExplanation: Sendable {
    package var lines: [String] = []
    package var allowed = false

    package init(
        snapshot: PolicyStore.Snapshot, client name: String, method: String, path: String, location: String?, company: String?
    ) {
        guard let client = snapshot.policies.clients[name] else {
            lines.append("deny: no client named '\(name)' (known: \(snapshot.policies.clients.keys.sorted().joined(separator: ", ")))")
            return
        }
        lines.append("client: \(client.name) (\(client.definedAt))")
        let target: CanonicalTarget
        do {
            target = try CanonicalTarget(path, maxLength: 8192)
        } catch {
            lines.append("deny: \(error.code.rawValue): \(error.message)")
            return
        }
        guard let routeMethod = RouteMethod(rawValue: method.uppercased()),
            let match = snapshot.catalog.match(method: routeMethod, path: target.path)
        else {
            lines.append("deny: route_unknown: \(snapshot.catalog.unmatchedReason(method: method.uppercased(), path: target.path))")
            return
        }
        let route = match.route
        lines.append(
            "route: \(route) scopes: \(route.scopes.joined(separator: ", ")) access: \(route.access.map(\.rawValue).joined(separator: ", "))")
        var headers = HTTPFields()
        if let location { headers[TargetResolver.locationHeader] = location }
        if let company { headers[TargetResolver.companyHeader] = company }
        let requestTarget: RequestTarget
        do {
            requestTarget = try TargetResolver().resolve(match: match, query: target.query, headers: headers, body: nil, client: client)
        } catch {
            lines.append("deny: \(error.code.rawValue): \(error.message)")
            return
        }
        lines.append("target: location \(requestTarget.location ?? "-"), company \(requestTarget.company ?? "-")")
        let decision = client.decide(route, target: requestTarget)
        lines.append(decision.description)
        guard decision.allowed else { return }
        if let limit = client.rateLimit { lines.append("rate limit: \(limit)") }
        do {
            lines.append("token: \(try TokenSelector.owner(for: route, target: requestTarget))")
            allowed = true
        } catch where route.tokenKinds == [.company] && requestTarget.location != nil {
            lines.append("token: the company of location \(requestTarget.location ?? "") (looked up at request time)")
            allowed = true
        } catch {
            lines.append("deny: \(error.code.rawValue): \(error.message)")
        }
    }
}
