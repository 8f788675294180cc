import ScopeCatalog

/// A client's `mcp:` section: which of its agents' calls need `confirm: true` before they are
/// sent. Every DELETE does, and what `destructive` names (scopes or route templates), unless
/// `confirm: false` opts the client out.
package struct AgentRules: Sendable, Equatable {
    package var confirm = true
    package var destructive: [PolicyRule] = []

    package init() {}

    package func needsConfirmation(_ route: CatalogRoute) -> Bool {
        confirm && (route.method == .DELETE || destructive.contains { $0.covers(route) })
    }
}
