/// Merges the table rows and the OpenAPI operations into routes by (method, shape), cross-checks
/// the two sources where both document a route, applies overrides, and collects diagnostics.
struct CatalogCompiler {
    /// What one source says about a route, merged over its rows or operations.
    struct Claim {
        var template: RouteTemplate
        var scopes: [String] = []
        /// Access type sets as each row or operation gave them; empty sets are silent.
        var accessSets: [(access: [AccessType], at: SourceLocation)] = []
        /// An OpenAPI `bearer` requirement: any token kind.
        var anyTokenKind = false
        var locations: [SourceLocation] = []

        var access: [AccessType] { accessSets.first { !$0.access.isEmpty }?.access ?? [] }
        /// The named kinds, else both when the spec said `bearer`.
        var effectiveAccess: [AccessType] { AccessType.alternatives(access, anyKind: anyTokenKind) }
        var distinctAccessSets: Set<[AccessType]> { Set(accessSets.map(\.access).filter { !$0.isEmpty }) }
    }

    struct Draft {
        var method: RouteMethod
        var table: Claim?
        var openapi: Claim?
        var overrideScopes: [String]?
        var overrideAccess: [AccessType]?
        var overrideTemplate: RouteTemplate?
        var overrideAt: [SourceLocation] = []

        var name: String { "\(method.rawValue) \((overrideTemplate ?? table?.template ?? openapi?.template)!)" }
    }

    /// A route as compiled: routable when it has a scope.
    struct Resolved {
        var method: RouteMethod
        var template: RouteTemplate
        var scopes: [String]
        var access: [AccessType]
        var definedAt: [SourceLocation]
        var sources: [CatalogSource]
    }

    private(set) var diagnostics: [CatalogDiagnostic] = []
    private(set) var disagreements: [CatalogDisagreement] = []
    private var drafts: [Draft] = []
    private var indexByKey: [RouteKey: Int] = [:]
    /// Every scope the sources name: what overrides may use, and the catalog's scope list.
    let knownScopes: Set<String>
    private let prefer: CatalogSource.Preference

    init(table: ScopeTable, specs: [OpenAPISpec], prefer: CatalogSource.Preference) {
        self.prefer = prefer
        diagnostics = table.diagnostics + specs.flatMap(\.diagnostics)
        knownScopes = Set(table.scopes).union(specs.flatMap { $0.operations.flatMap(\.scopes) })
        for entry in table.entries {
            add(.table, entry.method, entry.template, scopes: [entry.scope], access: entry.access, anyTokenKind: false, at: entry.location)
        }
        for operation in specs.flatMap(\.operations) {
            add(
                .openapi, operation.method, operation.template, scopes: operation.scopes, access: operation.access,
                anyTokenKind: operation.anyTokenKind, at: operation.location)
        }
    }

    private mutating func add(
        _ source: CatalogSource, _ method: RouteMethod, _ template: RouteTemplate, scopes: [String], access: [AccessType],
        anyTokenKind: Bool, at here: SourceLocation
    ) {
        let key = RouteKey(method: method, template: template)
        let index: Int
        if let known = indexByKey[key] {
            index = known
        } else {
            index = drafts.count
            indexByKey[key] = index
            drafts.append(Draft(method: method))
        }
        let claimPath: WritableKeyPath<Draft, Claim?> = source == .table ? \.table : \.openapi
        guard var claim = drafts[index][keyPath: claimPath] else {
            drafts[index][keyPath: claimPath] = Claim(
                template: template, scopes: scopes, accessSets: [(access, here)], anyTokenKind: anyTokenKind, locations: [here])
            return
        }
        let first = claim.locations[0]
        if claim.template.parameterNames != template.parameterNames {
            diagnostics.report(
                .warning, .parameterNamesDiffer, here,
                "\(method.rawValue) \(template) is \(claim.template) at \(first); keeping the first names")
        }
        // Table rows repeating a route are worth a note; the OpenAPI files repeat most operations
        // (`x.json` and `x-v3.json`), so only a repeat that says something different is.
        let saysMore =
            Set(scopes) != Set(claim.scopes) || anyTokenKind != claim.anyTokenKind || AccessType.alternatives(access, anyKind: false) != claim.access
        if source == .table || saysMore {
            diagnostics.report(
                .note, .mergedRoute, here,
                "\(method.rawValue) \(claim.template) also listed at \(first); scopes \(scopes) merged")
        }
        for scope in scopes { claim.scopes.appendIfAbsent(scope) }
        claim.anyTokenKind = claim.anyTokenKind || anyTokenKind
        claim.locations.append(here)
        if source == .table {
            claim.accessSets.append((access, here))
        } else {
            // OpenAPI requirements are alternatives, so two specs of one operation add up.
            let merged = AccessType.alternatives(claim.access + access, anyKind: false)
            claim.accessSets = [(merged, claim.accessSets[0].at)]
        }
        drafts[index][keyPath: claimPath] = claim
    }

    // MARK: Overrides

    mutating func apply(_ overrides: [CatalogOverride]) {
        for override in overrides { apply(override) }
    }

    /// The table's events with `overrides` applied: each adds an event or replaces its scopes.
    mutating func events(_ table: [String: [String]], _ overrides: [CatalogEventOverride]) -> [String: [String]] {
        var events = table
        var seen: [String: SourceLocation] = [:]
        for override in overrides {
            let here = override.location
            if let first = seen[override.event] {
                diagnostics.report(.error, .invalidOverride, here, "event \(override.event): already given at line \(first.line)")
                continue
            }
            seen[override.event] = here
            let unknown = override.scopes.filter { !knownScopes.contains($0) }
            guard unknown.isEmpty, !override.scopes.isEmpty else {
                diagnostics.report(
                    .error, .invalidOverride, here,
                    unknown.isEmpty
                        ? "event \(override.event): needs at least one scope"
                        : "event \(override.event): unknown scope(s) \(unknown.joined(separator: ", "))")
                continue
            }
            events[override.event] = override.scopes
        }
        return events
    }

    private mutating func apply(_ override: CatalogOverride) {
        let here = override.location
        let name = "\(override.method.rawValue) \(override.template)"
        let unknown = (override.scopes ?? []).filter { !knownScopes.contains($0) }
        guard unknown.isEmpty else {
            diagnostics.report(.error, .invalidOverride, here, "\(name): unknown scope(s) \(unknown.joined(separator: ", "))")
            return
        }
        if override.scopes?.isEmpty == true || override.access?.isEmpty == true {
            diagnostics.report(.error, .invalidOverride, here, "\(name): scopes and access, when given, must not be empty")
            return
        }
        let key = RouteKey(method: override.method, template: override.template)
        let reason = override.reason.map { " (\($0))" } ?? ""
        let given =
            "scopes \(override.scopes.map { "\($0)" } ?? "unchanged"), access \(override.access.map { "\($0.map(\.rawValue))" } ?? "unchanged")"
        switch override.action {
        case .correct:
            guard let index = indexByKey[key] else {
                diagnostics.report(.error, .invalidOverride, here, "\(name): no such route in the catalog; use 'add' for a new route")
                return
            }
            guard override.scopes != nil || override.access != nil else {
                diagnostics.report(.error, .invalidOverride, here, "\(name): a correction must set scopes or access")
                return
            }
            if let scopes = override.scopes { drafts[index].overrideScopes = scopes }
            if let access = override.access { drafts[index].overrideAccess = access.sorted() }
            drafts[index].overrideAt.append(here)
            diagnostics.report(.note, .overrideApplied, here, "\(name) corrected: \(given)\(reason)")
        case .add:
            guard indexByKey[key] == nil else {
                diagnostics.report(.error, .invalidOverride, here, "\(name): already in the catalog; use 'correct' to change it")
                return
            }
            guard let scopes = override.scopes, let access = override.access else {
                diagnostics.report(.error, .invalidOverride, here, "\(name): an added route needs both scopes and access")
                return
            }
            indexByKey[key] = drafts.count
            drafts.append(
                Draft(
                    method: override.method, overrideScopes: scopes, overrideAccess: access.sorted(),
                    overrideTemplate: override.template, overrideAt: [here]))
            diagnostics.report(.note, .overrideApplied, here, "\(name) added: \(given)\(reason)")
        }
    }

    // MARK: Resolution

    /// Every route with its scopes and access decided; those without a scope are not routable.
    mutating func finish() -> [Resolved] {
        drafts.map { resolve($0) }
    }

    private mutating func resolve(_ draft: Draft) -> Resolved {
        let table = draft.table
        let openapi = draft.openapi
        let template = draft.overrideTemplate ?? mergedTemplate(draft)
        var scopes = draft.overrideScopes ?? table?.scopes ?? openapi?.scopes ?? []
        var access = draft.overrideAccess ?? []
        var sources: [CatalogSource] = []
        if table != nil { sources.append(.table) }
        if openapi != nil { sources.append(.openapi) }
        if !draft.overrideAt.isEmpty { sources.append(.override) }

        if let table, table.distinctAccessSets.count > 1, draft.overrideAccess == nil {
            let listed = table.accessSets.filter { !$0.access.isEmpty }
                .map { "\($0.access.map(\.rawValue).joined(separator: ", ")) at \($0.at)" }
            diagnostics.report(
                .error, .conflictingAccessTypes, table.locations[0],
                "\(draft.name) has conflicting access types: \(listed.joined(separator: "; "))")
        }

        switch (table, openapi) {
        case let (table?, openapi?):
            if table.template.parameterNames != openapi.template.parameterNames {
                diagnostics.report(
                    .warning, .parameterNamesDiffer, openapi.locations[0],
                    "\(draft.method.rawValue) \(openapi.template) is \(table.template) in the table at \(table.locations[0]); using \(template)")
            }
            let checkedScopes = crossCheckScopes(draft, table, openapi)
            let checkedAccess = crossCheckAccess(draft, table, openapi)
            if draft.overrideScopes == nil { scopes = checkedScopes }
            if draft.overrideAccess == nil { access = checkedAccess }
            crossCheckWrites(draft, table, openapi)
        case let (table?, nil):
            if draft.overrideAccess == nil { access = table.access }
        case let (nil, openapi?):
            if draft.overrideAccess == nil {
                access = openapi.effectiveAccess
            }
            if draft.method.isWrite, let readOnly = openapi.scopes.first(where: \.isReadOnlyScope), draft.overrideScopes == nil {
                diagnostics.report(
                    .warning, .writeUnderReadOnlyScope, openapi.locations[0],
                    "\(draft.name) is listed under read-only scope '\(readOnly)'; correct it in catalog-overrides.yaml")
            }
            if scopes.isEmpty {
                diagnostics.report(
                    .note, .unscopedOperation, openapi.locations[0],
                    "\(draft.name) declares no scope; not routable until catalog-overrides.yaml gives it one")
            }
        case (nil, nil):
            break
        }
        let definedAt = (table?.locations ?? []) + (openapi?.locations ?? []) + draft.overrideAt
        return Resolved(method: draft.method, template: template, scopes: scopes, access: access, definedAt: definedAt, sources: sources)
    }

    private mutating func crossCheckScopes(_ draft: Draft, _ table: Claim, _ openapi: Claim) -> [String] {
        if openapi.scopes.isEmpty {
            diagnostics.report(
                .note, .filledFromOtherSource, openapi.locations[0],
                "\(draft.name) declares no scope in the OpenAPI spec; the table's \(table.scopes) at \(table.locations[0]) are used")
            return table.scopes
        }
        guard Set(table.scopes) != Set(openapi.scopes) else { return table.scopes }
        let chosen = prefer == .table ? table.scopes : openapi.scopes
        record(
            .scopesDiffer, draft, table, openapi, "\(table.scopes.sorted())", "\(openapi.scopes.sorted())",
            resolution: draft.overrideScopes.map { overridden(draft, $0) } ?? "using \(chosen.sorted()) (catalog.prefer: \(prefer.rawValue))")
        return chosen
    }

    /// `bearer` admits any kind, so it never disagrees; the same token kinds with a `-Only` refinement
    /// from the spec take the spec's finer types whichever source is preferred.
    private mutating func crossCheckAccess(_ draft: Draft, _ table: Claim, _ openapi: Claim) -> [AccessType] {
        let tableAccess = table.access
        let specAccess = openapi.access
        if specAccess.isEmpty {
            if !tableAccess.isEmpty || !openapi.anyTokenKind { return tableAccess }
            diagnostics.report(
                .note, .filledFromOtherSource, table.locations[0],
                "\(draft.name) has no access type in the table; the OpenAPI spec's bearer (any kind) at \(openapi.locations[0]) is used")
            return openapi.effectiveAccess
        }
        if tableAccess.isEmpty {
            diagnostics.report(
                .note, .filledFromOtherSource, table.locations[0],
                "\(draft.name) has no access type in the table; the OpenAPI spec's \(specAccess.map(\.rawValue)) at \(openapi.locations[0]) is used")
            return specAccess
        }
        if tableAccess.tokenKinds == specAccess.tokenKinds { return specAccess }
        let chosen = prefer == .table ? tableAccess : specAccess
        record(
            .accessTypesDiffer, draft, table, openapi, "\(tableAccess.map(\.rawValue))", "\(specAccess.map(\.rawValue))",
            resolution: draft.overrideAccess.map { overridden(draft, $0.map(\.rawValue)) }
                ?? "using \(chosen.map(\.rawValue)) (catalog.prefer: \(prefer.rawValue))")
        return chosen
    }

    private mutating func crossCheckWrites(_ draft: Draft, _ table: Claim, _ openapi: Claim) {
        guard draft.method.isWrite else { return }
        let tableReadOnly = table.scopes.filter(\.isReadOnlyScope)
        let specReadOnly = openapi.scopes.filter(\.isReadOnlyScope)
        guard !tableReadOnly.isEmpty || !specReadOnly.isEmpty else { return }
        let resolution =
            draft.overrideScopes.map { overridden(draft, $0) }
            ?? "correct it in catalog-overrides.yaml if HighLevel wants a write scope"
        record(.writeUnderReadOnlyScope, draft, table, openapi, "\(table.scopes.sorted())", "\(openapi.scopes.sorted())", resolution: resolution)
    }

    private mutating func record(
        _ kind: CatalogDisagreement.Kind, _ draft: Draft, _ table: Claim, _ openapi: Claim, _ tableSays: String, _ specSays: String,
        resolution: String
    ) {
        let disagreement = CatalogDisagreement(
            kind: kind, method: draft.method, template: mergedTemplate(draft), table: tableSays, openapi: specSays,
            tableAt: table.locations, openapiAt: openapi.locations, resolution: resolution)
        disagreements.append(disagreement)
        diagnostics.report(.warning, .sourcesDisagree, table.locations[0], disagreement.description)
    }

    private func overridden(_ draft: Draft, _ value: [String]) -> String {
        "the override at \(draft.overrideAt.last!) sets \(value)"
    }

    /// The preferred source's parameter names, except that a position the other source calls
    /// `locationId` or `companyId` keeps that name: it is how a request names its target.
    private func mergedTemplate(_ draft: Draft) -> RouteTemplate {
        guard let table = draft.table, let openapi = draft.openapi else { return (draft.table ?? draft.openapi)!.template }
        let (preferred, other) = prefer == .table ? (table.template, openapi.template) : (openapi.template, table.template)
        let segments = zip(preferred.segments, other.segments).map { mine, theirs -> RouteTemplate.Segment in
            if case .parameter = mine, case .parameter(let name) = theirs, Self.targetParameterNames.contains(name) {
                return theirs
            }
            return mine
        }
        return RouteTemplate(segments: segments)
    }

    static let targetParameterNames: Set<String> = ["locationId", "companyId"]
}
