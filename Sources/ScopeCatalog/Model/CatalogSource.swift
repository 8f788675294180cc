/// Where a route of the compiled catalog was documented.
package enum CatalogSource: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// HighLevel's scopes table, `policies/highlevel-scopes.md`.
    case table
    /// HighLevel's OpenAPI specifications, `policies/openapi/*.json`.
    case openapi
    /// The admin's `policies/catalog-overrides.yaml`.
    case override

    /// Which source wins where the table and the OpenAPI specs disagree (`catalog.prefer`).
    /// Overrides win over both either way.
    package enum Preference: String, Sendable, Hashable, CaseIterable {
        /// The default: the table is what HighLevel's scope screen shows an installer.
        case table
        case openapi
    }

    package static func < (lhs: CatalogSource, rhs: CatalogSource) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
