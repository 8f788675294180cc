import ScopeCatalog

/// Allow or deny, always with the reason and, where one decided it, the rule and its place.
package struct PolicyDecision: Sendable, CustomStringConvertible {
    package enum Outcome: String, Sendable {
        case allow
        case deny
    }

    package var outcome: Outcome
    package var reason: String
    package var rule: PolicyRule?

    package var allowed: Bool { outcome == .allow }

    package var description: String {
        "\(outcome.rawValue): \(reason)" + (rule.map { " (\($0.location))" } ?? "")
    }
}

extension ClientPolicy {
    /// Deny by default. A deny rule covering the route wins; otherwise an allow rule must cover it,
    /// and the target location and company must be in the client's lists.
    package func decide(_ route: CatalogRoute, target: RequestTarget) -> PolicyDecision {
        let name = "\(route.method.rawValue) \(route.template)"
        if let rule = deny.first(where: { $0.covers(route) }) {
            return PolicyDecision(outcome: .deny, reason: "\(name) is denied by \(rule)", rule: rule)
        }
        guard let rule = allow.first(where: { $0.covers(route) }) else {
            let needs = route.scopes.isEmpty ? "" : " (grant one of: \(route.scopes.joined(separator: ", ")))"
            return PolicyDecision(outcome: .deny, reason: "no allow rule of \(self.name) covers \(name)\(needs)", rule: nil)
        }
        if let location = target.location, !locations.contains(location) {
            return PolicyDecision(outcome: .deny, reason: "location \(location) is not in the locations of \(self.name)", rule: nil)
        }
        if let company = target.company, !companies.contains(company) {
            return PolicyDecision(outcome: .deny, reason: "company \(company) is not in the companies of \(self.name)", rule: nil)
        }
        return PolicyDecision(outcome: .allow, reason: "\(name) is allowed by \(rule)", rule: rule)
    }
}
