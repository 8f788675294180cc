/// The scope catalog ready to serve: every route HighLevel documents with the scopes that grant it
/// and the token kind it takes, compiled into a trie that answers `METHOD /path` in nanoseconds.
package struct CompiledCatalog: Sendable {
    /// Sorted by template, then method.
    package let routes: [CatalogRoute]
    /// Every scope the sources name, sorted.
    package let scopes: [String]
    /// Webhook event name → the scopes that list it.
    package let events: [String: [String]]
    /// Everything the compiler noticed; never contains an error (those throw).
    package let diagnostics: [CatalogDiagnostic]
    private let trie: RouteTrie
    private let routesByKey: [RouteKey: CatalogRoute]

    /// Compiles the table with its overrides. Throws when any diagnostic is an error.
    package init(table: ScopeTable, overrides: [CatalogOverride]) throws(CatalogError) {
        var compiler = CatalogCompiler(table: table)
        compiler.apply(overrides)
        let drafts = compiler.finish()
        let diagnostics = compiler.diagnostics
        if diagnostics.contains(where: { $0.severity == .error }) { throw CatalogError(diagnostics: diagnostics) }

        let routes = drafts.map {
            CatalogRoute(method: $0.method, template: $0.template, scopes: $0.scopes, access: $0.access, definedAt: $0.definedAt)
        }.sorted { ($0.template.description, $0.method) < ($1.template.description, $1.method) }
        self.routes = routes
        self.scopes = table.scopes.sorted()
        self.events = table.events
        self.diagnostics = diagnostics
        self.trie = RouteTrie(routes: routes)
        self.routesByKey = Dictionary(uniqueKeysWithValues: routes.map { ($0.key, $0) })
    }

    /// The route a request reaches, with its parameter values; nil when no route matches
    /// (deny by default). `path` is the canonical path without its query string.
    package func match(method: RouteMethod, path: String) -> RouteMatch? {
        var path = path
        return path.withUTF8 { bytes in
            withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: max(trie.maxParameterCount, 1)) { captures in
                guard let found = trie.match(method, bytes, captures: captures) else { return nil }
                let route = routes[found.route]
                var parameters: [RouteParameter] = []
                parameters.reserveCapacity(found.captureCount)
                for index in 0..<found.captureCount {
                    let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[captures[index]]), as: UTF8.self)
                    parameters.append(RouteParameter(name: route.parameterNames[index], value: value))
                }
                return RouteMatch(route: route, parameters: parameters)
            }
        }
    }

    /// The route with this method and template shape (parameter names do not matter).
    package func route(method: RouteMethod, template: RouteTemplate) -> CatalogRoute? {
        routesByKey[RouteKey(method: method, template: template)]
    }

    /// Diagnostics counted by kind, for summaries.
    package var diagnosticCounts: [CatalogDiagnostic.Kind: Int] {
        diagnostics.reduce(into: [:]) { $0[$1.kind, default: 0] += 1 }
    }
}
