/// Merges table rows into routes and applies overrides, collecting diagnostics on the way.
struct CatalogCompiler {
    struct Draft {
        var method: RouteMethod
        var template: RouteTemplate
        var scopes: [String]
        /// Access type sets as each source gave them; more than one distinct non-empty set is a conflict.
        var accessSets: [(access: [AccessType], at: SourceLocation)]
        var definedAt: [SourceLocation]

        var access: [AccessType] { accessSets.first { !$0.access.isEmpty }?.access ?? [] }
    }

    private(set) var diagnostics: [CatalogDiagnostic]
    private var drafts: [Draft] = []
    private var indexByKey: [RouteKey: Int] = [:]
    private let knownScopes: Set<String>

    init(table: ScopeTable) {
        diagnostics = table.diagnostics
        knownScopes = Set(table.scopes)
        for entry in table.entries {
            let key = RouteKey(method: entry.method, template: entry.template)
            guard let index = indexByKey[key] else {
                indexByKey[key] = drafts.count
                drafts.append(Draft(
                    method: entry.method, template: entry.template, scopes: [entry.scope],
                    accessSets: [(entry.access, entry.location)], definedAt: [entry.location]))
                continue
            }
            let first = drafts[index]
            if first.template.parameterNames != entry.template.parameterNames {
                diagnostics.report(.warning, .parameterNamesDiffer, entry.location,
                       "\(entry.method.rawValue) \(entry.template) is \(first.template) at \(first.definedAt[0]); keeping the first names")
            }
            diagnostics.report(.note, .mergedRoute, entry.location,
                   "\(entry.method.rawValue) \(first.template) also listed at \(first.definedAt[0]); scope '\(entry.scope)' merged")
            drafts[index].scopes.appendIfAbsent(entry.scope)
            drafts[index].accessSets.append((entry.access, entry.location))
            drafts[index].definedAt.append(entry.location)
        }
    }

    mutating func apply(_ overrides: [CatalogOverride]) {
        for override in overrides { apply(override) }
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
            if let scopes = override.scopes { drafts[index].scopes = scopes }
            if let access = override.access { drafts[index].accessSets = [(access.sorted(), here)] }
            drafts[index].definedAt.append(here)
            diagnostics.report(.note, .overrideApplied, here,
                   "\(name) corrected: scopes \(drafts[index].scopes), access \(drafts[index].access.map(\.rawValue))\(reason)")
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
            drafts.append(Draft(
                method: override.method, template: override.template, scopes: scopes,
                accessSets: [(access.sorted(), here)], definedAt: [here]))
            diagnostics.report(.note, .overrideApplied, here, "\(name) added: scopes \(scopes), access \(access.map(\.rawValue))\(reason)")
        }
    }

    /// The merged routes, after checking that each has one consistent access type set.
    mutating func finish() -> [Draft] {
        for draft in drafts {
            let distinct = Set(draft.accessSets.map(\.access).filter { !$0.isEmpty })
            if distinct.count > 1 {
                let listed = draft.accessSets.filter { !$0.access.isEmpty }
                    .map { "\($0.access.map(\.rawValue).joined(separator: ", ")) at \($0.at)" }
                diagnostics.report(.error, .conflictingAccessTypes, draft.definedAt[0],
                       "\(draft.method.rawValue) \(draft.template) has conflicting access types: \(listed.joined(separator: "; "))")
            }
        }
        return drafts
    }

}
