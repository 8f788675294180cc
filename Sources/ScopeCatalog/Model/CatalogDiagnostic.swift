/// A place in a catalog source file, for messages an admin can jump to.
package struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    package var file: String
    package var line: Int

    package init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    package var description: String { "\(file):\(line)" }
}

/// Something the catalog compiler noticed in a source file: a quirk it handled, a suspicious row,
/// or an error that stops the compile. Every quirk is reported, never silently repaired.
package struct CatalogDiagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    package enum Severity: String, Sendable, Codable {
        case note, warning, error
    }

    package enum Kind: String, Sendable, Codable, CaseIterable {
        /// A row with an empty Scope cell, taken as continuing the scope above.
        case continuedScope = "continued_scope"
        /// A row that lists webhook events but no endpoint.
        case eventsWithoutEndpoint = "events_without_endpoint"
        /// A scope that lists no endpoint at all.
        case scopeWithoutEndpoint = "scope_without_endpoint"
        /// A path written without its leading slash.
        case missingLeadingSlash = "missing_leading_slash"
        /// White space inside a path.
        case spaceInPath = "space_in_path"
        /// A markdown backslash escape such as `\_`.
        case escapedCharacter = "escaped_character"
        /// An HTML entity (`&nbsp;`, or a misspelt one).
        case htmlEntity = "html_entity"
        /// A template ending in `/`.
        case trailingSlash = "trailing_slash"
        /// An empty Access Type cell: the route has no token kind until an override gives one.
        case missingAccessType = "missing_access_type"
        /// POST, PUT, PATCH or DELETE listed under a `.readonly`/`.read` scope.
        case writeUnderReadOnlyScope = "write_under_readonly_scope"
        /// The same route listed twice; its scopes were merged.
        case mergedRoute = "merged_route"
        /// The same route shape listed with different parameter names.
        case parameterNamesDiffer = "parameter_names_differ"
        /// An override changed a route.
        case overrideApplied = "override_applied"
        /// A table row that cannot be read (bad method, bad cell count, bad path, unknown access type).
        case malformedRow = "malformed_row"
        /// The table header does not name the expected columns.
        case malformedHeader = "malformed_header"
        /// An override that names a route or scope the catalog does not have, or is otherwise invalid.
        case invalidOverride = "invalid_override"
        /// One route with two different access types after overrides.
        case conflictingAccessTypes = "conflicting_access_types"
        /// An OpenAPI file that is not valid JSON or not an object.
        case malformedSpec = "malformed_spec"
        /// An OpenAPI path the catalog cannot read as a route template.
        case malformedOperation = "malformed_operation"
        /// A security requirement naming a scheme that is not one of HighLevel's token kinds.
        case unknownSecurityScheme = "unknown_security_scheme"
        /// An OpenAPI operation whose method the gateway never forwards (HEAD, OPTIONS, TRACE).
        case unsupportedMethod = "unsupported_method"
        /// An OpenAPI operation that declares no scope and no source gives it one: not routable.
        case unscopedOperation = "unscoped_operation"
        /// The table and the OpenAPI specs say different things about one route (see `scopes diff`).
        case sourcesDisagree = "sources_disagree"
        /// A source is silent about something the other source states, which is then used.
        case filledFromOtherSource = "filled_from_other_source"
    }

    package var location: SourceLocation
    package var severity: Severity
    package var kind: Kind
    package var message: String

    package init(_ severity: Severity, _ kind: Kind, at location: SourceLocation, _ message: String) {
        self.location = location
        self.severity = severity
        self.kind = kind
        self.message = message
    }

    package var description: String { "\(location): \(kind.rawValue): \(message)" }
}

extension Array where Element == CatalogDiagnostic {
    mutating func report(
        _ severity: CatalogDiagnostic.Severity, _ kind: CatalogDiagnostic.Kind, _ here: SourceLocation, _ message: String
    ) {
        append(CatalogDiagnostic(severity, kind, at: here, message))
    }
}
