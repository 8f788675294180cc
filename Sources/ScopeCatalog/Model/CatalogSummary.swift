/// What each source contributed to the compiled catalog and where they disagree, for
/// `ghl-gateway scopes compile`.
package struct CatalogSummary: Sendable, Hashable, Encodable {
    /// One source's own figures: distinct routes (method + shape) and scopes it names.
    package struct Source: Sendable, Hashable, Encodable {
        package var routes = 0
        package var scopes = 0
    }

    package var table = Source()
    package var openapi = Source()
    /// OpenAPI files read and the operations they hold (the same operation in two files counts twice).
    package var openapiFiles = 0
    package var openapiOperations = 0
    package var inBoth = 0
    package var onlyInTable = 0
    package var onlyInOpenAPI = 0
    /// Routes only an override adds.
    package var onlyInOverrides = 0
    /// Routes the compiled catalog forwards, and those documented without any scope (not routable).
    package var routable = 0
    package var unroutable = 0
    package var disagreements: [CatalogDisagreement.Kind: Int] = [:]

    init(table: ScopeTable, specs: [OpenAPISpec], routes: [CatalogRoute], unroutable: [CatalogRoute], disagreements: [CatalogDisagreement]) {
        let all = routes + unroutable
        self.table = Source(
            routes: all.count { $0.sources.contains(.table) }, scopes: table.scopes.count)
        let specScopes = Set(specs.flatMap { $0.operations.flatMap(\.scopes) })
        self.openapi = Source(routes: all.count { $0.sources.contains(.openapi) }, scopes: specScopes.count)
        openapiFiles = specs.count
        openapiOperations = specs.reduce(0) { $0 + $1.operations.count }
        inBoth = all.count { $0.sources.contains(.table) && $0.sources.contains(.openapi) }
        onlyInTable = all.count { $0.sources.contains(.table) && !$0.sources.contains(.openapi) }
        onlyInOpenAPI = all.count { $0.sources.contains(.openapi) && !$0.sources.contains(.table) }
        onlyInOverrides = all.count { $0.sources == [.override] }
        routable = routes.count
        self.unroutable = unroutable.count
        self.disagreements = disagreements.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
    }

    private enum CodingKeys: String, CodingKey {
        case table, openapi, openapiFiles, openapiOperations, inBoth, onlyInTable, onlyInOpenAPI = "onlyInOpenapi", onlyInOverrides
        case routable, unroutable, disagreements
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(table, forKey: .table)
        try container.encode(openapi, forKey: .openapi)
        try container.encode(openapiFiles, forKey: .openapiFiles)
        try container.encode(openapiOperations, forKey: .openapiOperations)
        try container.encode(inBoth, forKey: .inBoth)
        try container.encode(onlyInTable, forKey: .onlyInTable)
        try container.encode(onlyInOpenAPI, forKey: .onlyInOpenAPI)
        try container.encode(onlyInOverrides, forKey: .onlyInOverrides)
        try container.encode(routable, forKey: .routable)
        try container.encode(unroutable, forKey: .unroutable)
        let byKind = Dictionary(uniqueKeysWithValues: CatalogDisagreement.Kind.allCases.map { ($0.rawValue, disagreements[$0, default: 0]) })
        try container.encode(byKind, forKey: .disagreements)
    }
}
