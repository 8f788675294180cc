/// The scope catalog ready to serve: every route HighLevel documents, in its scopes table or its
/// OpenAPI specifications, with the scopes that grant it and the token kind it takes, compiled
/// into a trie that answers `METHOD /path` in nanoseconds. A class: a request holds it by one
/// reference, not by a copy of its dozen tables.
package final class CompiledCatalog: Sendable {
    /// The routable routes, sorted by template, then method.
    package let routes: [CatalogRoute]
    /// Operations the OpenAPI specs document without any scope and no override scopes: never
    /// forwarded (fail closed), kept so a refusal can say why.
    package let unroutable: [CatalogRoute]
    /// Every scope the sources name, sorted.
    package let scopes: [String]
    /// Webhook event name → the scopes that entitle a client to it (the table's, with the event overrides).
    package let events: [String: [String]]
    /// Everything the compiler noticed; never contains an error (those throw).
    package let diagnostics: [CatalogDiagnostic]
    /// Where the table and the OpenAPI specs say different things about one route.
    package let disagreements: [CatalogDisagreement]
    package let summary: CatalogSummary
    private let trie: RouteTrie
    private let unroutableTrie: RouteTrie
    private let routesByKey: [RouteKey: CatalogRoute]

    /// Compiles the table and the OpenAPI specs with the overrides. Throws when any diagnostic is an error.
    package init(
        table: ScopeTable, specs: [OpenAPISpec] = [], overrides: [CatalogOverride], events eventOverrides: [CatalogEventOverride] = [],
        prefer: CatalogSource.Preference = .table
    ) throws(CatalogError) {
        var compiler = CatalogCompiler(table: table, specs: specs, prefer: prefer)
        compiler.apply(overrides)
        let events = compiler.events(table.events, eventOverrides)
        let resolved = compiler.finish()
        let diagnostics = compiler.diagnostics
        if diagnostics.contains(where: { $0.severity == .error }) { throw CatalogError(diagnostics: diagnostics) }

        let all = resolved.map {
            CatalogRoute(
                method: $0.method, template: $0.template, scopes: $0.scopes, access: $0.access, definedAt: $0.definedAt,
                sources: $0.sources)
        }.sorted { ($0.template.description, $0.method) < ($1.template.description, $1.method) }
        routes = all.filter { !$0.scopes.isEmpty }
        unroutable = all.filter { $0.scopes.isEmpty }
        scopes = compiler.knownScopes.sorted()
        self.events = events
        self.diagnostics = diagnostics
        disagreements = compiler.disagreements
        summary = CatalogSummary(table: table, specs: specs, routes: routes, unroutable: unroutable, disagreements: disagreements)
        trie = RouteTrie(routes: routes)
        unroutableTrie = RouteTrie(routes: unroutable)
        routesByKey = Dictionary(uniqueKeysWithValues: routes.map { ($0.key, $0) })
    }

    /// The route a request reaches, with its parameter values; nil when no route matches
    /// (deny by default). `path` is the canonical path without its query string. Literal segments
    /// match ignoring ASCII case, as HighLevel routes (`RouteMatch.respelledPath` then says what to forward).
    package func match(method: RouteMethod, path: String) -> RouteMatch? {
        Self.match(trie, routes, method: method, path: path)
    }

    /// Why `METHOD path` matches no route, for a `route_unknown` answer: unknown, or documented
    /// by HighLevel without a scope.
    package func unmatchedReason(method: String, path: String) -> String {
        if let routeMethod = RouteMethod(rawValue: method),
            let route = Self.match(unroutableTrie, unroutable, method: routeMethod, path: path)?.route
        {
            return "\(route) is documented by HighLevel without a scope (\(route.definedAt[0])); "
                + "it is not forwarded until catalog-overrides.yaml gives it one"
        }
        return "no HighLevel route matches \(method) \(path)"
    }

    private static func match(_ trie: RouteTrie, _ routes: [CatalogRoute], method: RouteMethod, path: String) -> RouteMatch? {
        // A native string lends its bytes without a copy; only another kind is made contiguous first.
        if let found = path.utf8.withContiguousStorageIfAvailable({ match(trie, routes, method: method, bytes: $0) }) { return found }
        var contiguous = path
        return contiguous.withUTF8 { match(trie, routes, method: method, bytes: $0) }
    }

    private static func match(_ trie: RouteTrie, _ routes: [CatalogRoute], method: RouteMethod, bytes: UnsafeBufferPointer<UInt8>) -> RouteMatch? {
        withUnsafeTemporaryAllocation(of: Range<Int>.self, capacity: max(trie.maxParameterCount, 1)) { captures in
            guard let found = trie.match(method, bytes, captures: captures) else { return nil }
            let route = routes[found.route]
            var parameters: [RouteParameter] = []
            parameters.reserveCapacity(found.captureCount)
            for index in 0..<found.captureCount {
                let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[captures[index]]), as: UTF8.self)
                parameters.append(RouteParameter(name: route.parameterNames[index], value: value))
            }
            return RouteMatch(route: route, parameters: parameters, respelledPath: found.exact ? nil : route.template.filled(with: parameters))
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
