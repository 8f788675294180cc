import ScopeCatalog

/// Which locations (or companies) a client may target: all, or a fixed set.
package enum TargetList: Sendable, Equatable {
    case all
    case only(Set<String>)

    /// Whether `id` is listed, byte for byte: `String ==` holds for canonically equivalent spellings
    /// (`é` and `e` + U+0301), which HighLevel treats as two ids.
    package func contains(_ id: String) -> Bool {
        switch self {
        case .all: true
        case .only(let ids): ids.firstIndex(of: id).map { ids[$0].utf8.elementsEqual(id.utf8) } ?? false
        }
    }

    /// The one id when the list names exactly one (a client allowed one location may omit it).
    package var single: String? {
        if case .only(let ids) = self, ids.count == 1 { ids.first } else { nil }
    }
}

/// One `allow` or `deny` entry: a scope (covering every route it grants) or one route template.
package struct PolicyRule: Sendable, Equatable, CustomStringConvertible {
    package enum Subject: Sendable, Equatable {
        case scope(String)
        case route(RouteKey, template: String)
    }

    package let subject: Subject
    package let location: SourceLocation
    /// The rule and where it is written (`scope contacts.readonly (crm.yaml:5)`), as the audit
    /// trail names the rule that decided: made once here, not for every request.
    package let cited: String

    package init(subject: Subject, location: SourceLocation) {
        self.subject = subject
        self.location = location
        cited = Self.text(subject) + " (" + location.description + ")"
    }

    package func covers(_ route: CatalogRoute) -> Bool {
        switch subject {
        case .scope(let scope): route.scopes.contains(scope)
        case .route(let key, _): key == route.key
        }
    }

    package var description: String { Self.text(subject) }

    private static func text(_ subject: Subject) -> String {
        switch subject {
        case .scope(let scope): "scope " + scope
        case .route(_, let template): "route " + template
        }
    }
}

/// One internal service's policy (`policies/clients/NAME.yaml`).
package struct ClientPolicy: Sendable {
    package var name: String
    /// `key:` (one) or `keys:` (several, for rotation).
    package var keys: [ClientKey]
    package var locations: TargetList
    package var companies: TargetList
    package var allow: [PolicyRule]
    package var deny: [PolicyRule]
    package var rateLimit: RateLimit?
    package var definedAt: SourceLocation
    /// HighLevel's events this client receives, if it subscribes.
    package var webhooks: WebhookSubscription? = nil
    /// Its weight when clients share a location's HighLevel budget (`upstream_share`, default 1).
    package var upstreamShare: Double = 1
    /// What its MCP agents must confirm (`mcp:`).
    package var agents = AgentRules()

    /// The scopes the client is allowed and not denied: they entitle it to their events.
    package var grantedScopes: Set<String> {
        let denied = Set(deny.compactMap { if case .scope(let scope) = $0.subject { scope } else { nil } })
        return Set(allow.compactMap { if case .scope(let scope) = $0.subject { scope } else { nil } }).subtracting(denied)
    }
}
