/// One operation of an OpenAPI document, as the catalog sees it.
package struct OpenAPIOperation: Sendable, Hashable {
    package var method: RouteMethod
    /// The spec's path with `{param}` turned into `:param`.
    package var template: RouteTemplate
    /// The path as the spec writes it, for messages.
    package var path: String
    /// Any one of these is enough (each security requirement is an alternative); empty when the
    /// operation declares none.
    package var scopes: [String]
    /// The token kinds the requirements name, without `bearer`.
    package var access: [AccessType]
    /// A requirement names `bearer`: any token kind.
    package var anyTokenKind: Bool
    package var location: SourceLocation

    /// The access types this operation alone allows: its named kinds, else both for `bearer`.
    package var effectiveAccess: [AccessType] { AccessType.alternatives(access, anyKind: anyTokenKind) }
}

/// An OpenAPI 3 document of HighLevel's API (`policies/openapi/*.json`), reduced to what the
/// catalog needs: each operation's method, path and `security` requirements.
///
/// Every requirement in HighLevel's specs is one token kind with the scopes it needs; the
/// requirements are alternatives, so the operation's scopes are any one of theirs. An operation
/// without `security` takes the document's top-level `security`, as OpenAPI says.
package struct OpenAPISpec: Sendable {
    package private(set) var operations: [OpenAPIOperation] = []
    package private(set) var diagnostics: [CatalogDiagnostic] = []
    package let file: String

    /// HighLevel's security scheme names and the access type each one means.
    static let tokenKinds: [String: AccessType] = [
        "Location-Access": .subAccount, "Agency-Access": .agency,
        "Location-Access-Only": .subAccountOnly, "Agency-Access-Only": .agencyOnly,
    ]
    static let anyKindScheme = "bearer"
    private static let unsupportedMethods: Set<String> = ["head", "options", "trace"]

    private typealias Requirement = (scheme: String, scopes: [String])
    private struct Pending {
        var method: RouteMethod
        var path: String
        var template: RouteTemplate
        var security: [Requirement]?
        var location: SourceLocation
    }

    package init(parsing bytes: [UInt8], file: String) {
        self.file = file
        var cursor = JSONCursor(bytes)
        var pending: [Pending] = []
        var topLevelSecurity: [Requirement]?
        do throws(JSONCursor.SyntaxError) {
            guard cursor.peek() == UInt8(ascii: "{") else { throw cursor.failure("an OpenAPI document is a JSON object") }
            try cursor.forEachMember { cursor, key, _ throws(JSONCursor.SyntaxError) in
                switch key {
                case "paths": try readPaths(&cursor, into: &pending)
                case "security": topLevelSecurity = try Self.readSecurity(&cursor)
                default: try cursor.skipValue()
                }
            }
            guard cursor.atEnd() else { throw cursor.failure("text after the document") }
        } catch {
            diagnostics.report(.error, .malformedSpec, SourceLocation(file: file, line: error.line), "invalid JSON: \(error.message)")
            return
        }
        for item in pending {
            operations.append(operation(item, security: item.security ?? topLevelSecurity ?? []))
        }
    }

    private mutating func readPaths(_ cursor: inout JSONCursor, into pending: inout [Pending]) throws(JSONCursor.SyntaxError) {
        try cursor.forEachMember { cursor, path, line throws(JSONCursor.SyntaxError) in
            let here = SourceLocation(file: file, line: line)
            guard let template = template(path, at: here) else { return try cursor.skipValue() }
            try cursor.forEachMember { cursor, key, line throws(JSONCursor.SyntaxError) in
                guard let method = RouteMethod(rawValue: key.uppercased()) else {
                    if Self.unsupportedMethods.contains(key) {
                        diagnostics.report(
                            .note, .unsupportedMethod, SourceLocation(file: file, line: line),
                            "\(key.uppercased()) \(path) is not a method the gateway forwards; ignored")
                    }
                    return try cursor.skipValue()
                }
                var security: [Requirement]?
                try cursor.forEachMember { cursor, field, _ throws(JSONCursor.SyntaxError) in
                    if field == "security" { security = try Self.readSecurity(&cursor) } else { try cursor.skipValue() }
                }
                pending.append(
                    Pending(
                        method: method, path: path, template: template, security: security,
                        location: SourceLocation(file: file, line: line)))
            }
        }
    }

    /// `[{"Location-Access": ["contacts.readonly"]}, ...]`.
    private static func readSecurity(_ cursor: inout JSONCursor) throws(JSONCursor.SyntaxError) -> [Requirement] {
        var requirements: [Requirement] = []
        try cursor.forEachElement { cursor throws(JSONCursor.SyntaxError) in
            try cursor.forEachMember { cursor, scheme, _ throws(JSONCursor.SyntaxError) in
                var scopes: [String] = []
                try cursor.forEachElement { cursor throws(JSONCursor.SyntaxError) in
                    guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.failure("a security scope must be a string") }
                    scopes.append(try cursor.readString())
                }
                requirements.append((scheme, scopes))
            }
        }
        return requirements
    }

    /// `{param}` → `:param`; a trailing slash is dropped (and noted) as in the table.
    private mutating func template(_ path: String, at here: SourceLocation) -> RouteTemplate? {
        var text = path
        if text.count > 1, text.hasSuffix("/") {
            text.removeLast()
            diagnostics.report(.note, .trailingSlash, here, "trailing slash of '\(path)' dropped (one trailing slash is ignored when matching)")
        }
        var converted: [String] = []
        for segment in text.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.first == "{", segment.last == "}", segment.count > 2,
                !segment.dropFirst().dropLast().contains(where: { $0 == "{" || $0 == "}" })
            {
                converted.append(":" + segment.dropFirst().dropLast())
            } else if segment.contains(where: { $0 == "{" || $0 == "}" || $0 == ":" }) {
                diagnostics.report(
                    .error, .malformedOperation, here,
                    "'\(path)': a parameter must be a whole segment written {name}")
                return nil
            } else {
                converted.append(String(segment))
            }
        }
        do throws(RouteTemplate.ParseError) {
            return try RouteTemplate(converted.joined(separator: "/"))
        } catch {
            diagnostics.report(.error, .malformedOperation, here, "'\(path)': \(error.description)")
            return nil
        }
    }

    private mutating func operation(_ item: Pending, security: [Requirement]) -> OpenAPIOperation {
        var scopes: [String] = []
        var access: [AccessType] = []
        var anyKind = false
        for requirement in security {
            if requirement.scheme == Self.anyKindScheme {
                anyKind = true
            } else if let type = Self.tokenKinds[requirement.scheme] {
                access.appendIfAbsent(type)
            } else {
                diagnostics.report(
                    .warning, .unknownSecurityScheme, item.location,
                    "\(item.method.rawValue) \(item.path): security scheme '\(requirement.scheme)' is not a HighLevel token kind; its scopes are ignored"
                )
                continue
            }
            for scope in requirement.scopes { scopes.appendIfAbsent(scope) }
        }
        return OpenAPIOperation(
            method: item.method, template: item.template, path: item.path, scopes: scopes,
            access: AccessType.alternatives(access, anyKind: false),
            anyTokenKind: anyKind, location: item.location)
    }
}
