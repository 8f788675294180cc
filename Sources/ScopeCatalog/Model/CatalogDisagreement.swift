/// A route both sources document but describe differently, with what each says, where, and
/// which value the catalog uses. `ghl-gateway scopes diff` prints these.
package struct CatalogDisagreement: Sendable, Hashable, Encodable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable, Encodable, CaseIterable {
        case scopesDiffer = "scopes_differ"
        case accessTypesDiffer = "access_types_differ"
        /// A write method under a read-only scope in either source.
        case writeUnderReadOnlyScope = "write_under_readonly_scope"
    }

    package var kind: Kind
    package var method: RouteMethod
    /// The template the catalog uses.
    package var template: RouteTemplate
    package var table: String
    package var openapi: String
    package var tableAt: [SourceLocation]
    package var openapiAt: [SourceLocation]
    /// What the compiled catalog uses, and why.
    package var resolution: String

    package var description: String {
        "\(method.rawValue) \(template): \(kind.rawValue): table says \(table) (\(tableAt.map(\.description).joined(separator: ", "))); "
            + "openapi says \(openapi) (\(openapiAt.map(\.description).joined(separator: ", "))); \(resolution)"
    }

    private enum CodingKeys: String, CodingKey {
        case kind, method, template, table, openapi, tableAt, openapiAt, resolution
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(method, forKey: .method)
        try container.encode(template, forKey: .template)
        try container.encode(table, forKey: .table)
        try container.encode(openapi, forKey: .openapi)
        try container.encode(tableAt.map(\.description), forKey: .tableAt)
        try container.encode(openapiAt.map(\.description), forKey: .openapiAt)
        try container.encode(resolution, forKey: .resolution)
    }
}
