/// The HTTP methods that HighLevel's API documents; anything else never matches a route.
package enum RouteMethod: String, CaseIterable, Sendable, Codable, Comparable {
    case GET, POST, PUT, PATCH, DELETE

    /// Whether the method changes state; such a method under a read-only scope is suspicious.
    package var isWrite: Bool { self != .GET }

    /// Dense index used by the trie's per-node method table.
    var slot: Int {
        switch self {
        case .GET: 0
        case .POST: 1
        case .PUT: 2
        case .PATCH: 3
        case .DELETE: 4
        }
    }

    package static func < (lhs: RouteMethod, rhs: RouteMethod) -> Bool { lhs.slot < rhs.slot }
}
