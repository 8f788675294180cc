import ScopeCatalog

/// Whether one of HighLevel's events goes to a client, always with the reason (for logs and
/// `policy explain --event`).
package struct EventDecision: Sendable, CustomStringConvertible {
    package var delivered: Bool
    package var reason: String

    package var description: String { (delivered ? "deliver: " : "skip: ") + reason }
}

extension ClientPolicy {
    /// An event goes to the client when it subscribes to its type (INSTALL and UNINSTALL only by
    /// name), a scope it is granted entitles it to the type (`scopes`, the catalog's), and the
    /// event's location (or, for company events, its company) is one it may target.
    package func receives(type: String, scopes: [String], locationId: String?, companyId: String?) -> EventDecision {
        guard let webhooks else { return EventDecision(delivered: false, reason: "\(name) has no webhooks subscription") }
        let lifecycle = PolicyLoader.lifecycleEvents.contains(type)
        switch webhooks.events {
        case .all where lifecycle:
            return EventDecision(delivered: false, reason: "\(type) goes only to clients that name it in webhooks.events")
        case .only(let types) where !types.contains(type):
            return EventDecision(delivered: false, reason: "\(type) is not in the webhooks.events of \(name) (\(webhooks.definedAt))")
        default:
            break
        }
        var entitlement = "named in webhooks.events"
        if !lifecycle {
            guard let scope = scopes.first(where: grantedScopes.contains) else {
                let needed = scopes.isEmpty ? "a scope, and the catalog lists none for it" : "one of \(scopes.joined(separator: ", "))"
                return EventDecision(delivered: false, reason: "\(type) needs \(needed), which \(name) is not allowed")
            }
            entitlement = "by scope \(scope)"
        }
        if let location = locationId {
            guard locations.contains(location) else {
                return EventDecision(delivered: false, reason: "location \(location) is not in the locations of \(name)")
            }
            return EventDecision(delivered: true, reason: "\(type) for location \(location), \(entitlement)")
        }
        guard let company = companyId else {
            return EventDecision(delivered: false, reason: "\(type) names neither a location nor a company")
        }
        guard companies.contains(company) else {
            return EventDecision(delivered: false, reason: "company \(company) is not in the companies of \(name)")
        }
        return EventDecision(delivered: true, reason: "\(type) for company \(company), \(entitlement)")
    }
}
