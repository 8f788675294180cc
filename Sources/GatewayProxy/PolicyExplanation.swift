import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import ScopeCatalog

/// What `policy explain` prints: how the proxy would treat one request for one client, step by
/// step: a dry run of its `ProxyExchange` (with the limits given), which calls nothing.
package struct PolicyExplanation: Sendable {
    package var lines: [String] = []
    package var allowed = false

    package init(
        snapshot: PolicyStore.Snapshot, client name: String, method: String, path: String, location: String?, company: String?,
        limits: GatewayConfiguration.Limits = .init()
    ) {
        guard let client = snapshot.policies.clients[name] else {
            lines.append("deny: no client named '\(name)' (known: \(snapshot.policies.clients.keys.sorted().joined(separator: ", ")))")
            return
        }
        lines.append("client: \(client.name) (\(client.definedAt))")
        var headers = HTTPFields()
        if let location { headers[TargetResolver.locationHeader] = location }
        if let company { headers[TargetResolver.companyHeader] = company }
        guard let method = HTTPRequest.Method(method.uppercased()) else {
            lines.append("deny: bad_request: '\(method)' is not an HTTP method")
            return
        }
        var exchange = ProxyExchange(
            explaining: .init(method: method, path: path, headers: headers, requestId: "explain"), client: client, snapshot: snapshot,
            stages: ProxyStages(limits: limits))
        var memo = ConnectionMemo()
        let action = exchange.start(memo: &memo, readsBody: false)
        if let route = exchange.trail.route {
            lines.append(
                "route: \(route) scopes: \(route.scopes.joined(separator: ", ")) access: \(route.access.map(\.rawValue).joined(separator: ", "))")
        }
        if let target = exchange.trail.target { lines.append("target: location \(target.location ?? "-"), company \(target.company ?? "-")") }
        if let decision = exchange.trail.decision { lines.append(decision.description) }
        switch action {
        case .wouldForward(let admitted):
            if let limit = client.rateLimit { lines.append("rate limit: \(limit)") }
            lines.append(tokenLine(admitted.route, admitted.requestTarget))
        case .refuse(let error) where exchange.trail.decision == nil:
            lines.append("deny: \(error.code.rawValue): \(error.message)")
        default:
            break
        }
    }

    /// Whether an agent's tool call would be allowed: the tool listed for the client, then the
    /// request it makes explained as above (`execute_operation`'s METHOD PATH, or a named tool's
    /// arguments laid out).
    package init(
        snapshot: PolicyStore.Snapshot, client name: String, tool: String, arguments: [String: String], method: String?, path: String?,
        location: String?, company: String?, limits: GatewayConfiguration.Limits = .init()
    ) {
        guard let client = snapshot.policies.clients[name] else {
            self.init(snapshot: snapshot, client: name, method: "", path: "", location: nil, company: nil)
            return
        }
        let listed = MCPTools.names(for: client, catalog: snapshot.catalog)
        guard listed.contains(tool) else {
            self.init(
                lines: [
                    "client: \(client.name) (\(client.definedAt))",
                    "deny: \(tool) is not a tool of \(client.name) (its tools: \(listed.joined(separator: ", ")))",
                ],
                allowed: false)
            return
        }
        let request: (method: String, path: String)
        if tool == "execute_operation" {
            request = (method ?? "", path ?? "")
        } else if let named = MCPNamedTool.all.first(where: { $0.name == tool }) {
            var given = arguments.mapValues(JSONValue.string)
            if let location { given["locationId"] = .string(location) }
            switch named.operation(given) {
            case .failure(let failure):
                self.init(lines: ["client: \(client.name) (\(client.definedAt))", "deny: \(tool): \(failure.message)"], allowed: false)
                return
            case .success(let operation):
                let query = MCPTools.queryString(operation["query"]?.object ?? [:])
                let path = operation["path"]?.string ?? ""
                request = (named.method, query.isEmpty ? path : path + "?" + query)
            }
        } else {
            self.init(
                lines: ["client: \(client.name) (\(client.definedAt))", "tool: \(tool) reads only what this client's policy allows"], allowed: true)
            return
        }
        self.init(snapshot: snapshot, client: name, method: request.method, path: request.path, location: location, company: company, limits: limits)
        lines.insert("tool: \(tool) → \(request.method.uppercased()) \(request.path)", at: 1)
    }

    private init(lines: [String], allowed: Bool) {
        self.lines = lines
        self.allowed = allowed
    }

    /// Whether an event of `type` for `location` (or `company`) would be delivered to the client.
    package init(snapshot: PolicyStore.Snapshot, client name: String, event type: String, location: String?, company: String?) {
        guard let client = snapshot.policies.clients[name] else {
            lines.append("skip: no client named '\(name)' (known: \(snapshot.policies.clients.keys.sorted().joined(separator: ", ")))")
            return
        }
        lines.append("client: \(client.name) (\(client.definedAt))")
        let lifecycle = PolicyLoader.lifecycleEvents.contains(type)
        guard lifecycle || snapshot.catalog.events[type] != nil else {
            lines.append("skip: unknown event type '\(type)'")
            return
        }
        let scopes = lifecycle ? [] : snapshot.catalog.events[type] ?? []
        lines.append("event: \(type) " + (lifecycle ? "(app lifecycle: only by name)" : "scopes: \(scopes.joined(separator: ", "))"))
        if let webhooks = client.webhooks { lines.append("subscription: \(webhooks.url) (\(webhooks.definedAt))") }
        let decision = client.receives(type: type, scopes: scopes, locationId: location, companyId: company)
        lines.append(decision.description)
        allowed = decision.delivered
    }

    /// Whose token would serve the request; an Agency route named by a location is served by that
    /// location's company, which only the vault knows.
    private mutating func tokenLine(_ route: CatalogRoute, _ target: RequestTarget) -> String {
        do {
            let owner = try TokenSelector.owner(for: route, target: target)
            allowed = true
            return "token: \(owner)"
        } catch  where TokenSelector.needsCompletion(target, for: route) {
            allowed = true
            return "token: the company of location \(target.location ?? "") (looked up at request time)"
        } catch {
            return "deny: \(error.code.rawValue): \(error.message)"
        }
    }
}
