import ScopeCatalog

/// Allow or deny, always with the reason and, where one decided it, the rule and its place.
package struct PolicyDecision: Sendable, CustomStringConvertible {
    package enum Outcome: String, Sendable {
        case allow
        case deny
    }

    /// What decided, kept as its parts: the sentence is written when it is read (a refusal, an
    /// explanation), not for every request allowed.
    fileprivate enum Grounds: Sendable {
        case deniedByRule(CatalogRoute)
        case noAllowRule(CatalogRoute, client: String)
        case locationNotListed(String, client: String)
        case companyNotListed(String, client: String)
        case allowedByRule(CatalogRoute)
    }

    package let outcome: Outcome
    package let rule: PolicyRule?
    private let grounds: Grounds

    package var allowed: Bool { outcome == .allow }

    package var reason: String {
        switch grounds {
        case .deniedByRule(let route):
            "\(route) is denied by \(rule.map { "\($0)" } ?? "")"
        case .noAllowRule(let route, let client):
            "no allow rule of \(client) covers \(route)" + (route.scopes.isEmpty ? "" : " (grant one of: \(route.scopes.joined(separator: ", ")))")
        case .locationNotListed(let location, let client):
            "location \(location) is not in the locations of \(client)"
        case .companyNotListed(let company, let client):
            "company \(company) is not in the companies of \(client)"
        case .allowedByRule(let route):
            "\(route) is allowed by \(rule.map { "\($0)" } ?? "")"
        }
    }

    package var description: String {
        "\(outcome.rawValue): \(reason)" + (rule.map { " (\($0.location))" } ?? "")
    }

    fileprivate init(_ outcome: Outcome, _ grounds: Grounds, rule: PolicyRule? = nil) {
        self.outcome = outcome
        self.grounds = grounds
        self.rule = rule
    }
}

extension ClientPolicy {
    /// Deny by default. A deny rule covering the route wins; otherwise an allow rule must cover it,
    /// and the target location and company must be in the client's lists.
    package func decide(_ route: CatalogRoute, target: RequestTarget) -> PolicyDecision {
        if let rule = deny.first(where: { $0.covers(route) }) {
            return PolicyDecision(.deny, .deniedByRule(route), rule: rule)
        }
        guard let rule = allow.first(where: { $0.covers(route) }) else {
            return PolicyDecision(.deny, .noAllowRule(route, client: name))
        }
        if let location = target.location, !locations.contains(location) {
            return PolicyDecision(.deny, .locationNotListed(location, client: name))
        }
        if let company = target.company, !companies.contains(company) {
            return PolicyDecision(.deny, .companyNotListed(company, client: name))
        }
        return PolicyDecision(.allow, .allowedByRule(route), rule: rule)
    }
}
