/// A route of the compiled catalog: what a matched request needs (any one of `scopes`) and
/// which token kind may serve it. Shared by reference so a match copies nothing.
package final class CatalogRoute: Sendable, Encodable, CustomStringConvertible {
    package let method: RouteMethod
    package let template: RouteTemplate
    /// Any one of these grants the route; sorted.
    package let scopes: [String]
    /// Sorted; empty means no token kind is known and the route is never forwarded.
    package let access: [AccessType]
    /// Where the route was defined: table rows, OpenAPI operations and overrides.
    package let definedAt: [SourceLocation]
    /// Which sources document the route; sorted.
    package let sources: [CatalogSource]
    package let parameterNames: [String]
    /// Whose tokens may serve the route (from `access`), kept for the request path.
    package let tokenKinds: Set<AccessType.TokenKind>
    /// `template` as text, kept for logs and metrics.
    package let templateText: String
    /// `GET /contacts/:contactId`: how a request's span and audit row name the route, made once.
    package let name: String

    package init(
        method: RouteMethod, template: RouteTemplate, scopes: [String], access: [AccessType],
        definedAt: [SourceLocation], sources: [CatalogSource]
    ) {
        self.method = method
        self.template = template
        self.scopes = scopes.sorted()
        self.access = access.sorted()
        self.definedAt = definedAt
        self.sources = sources.sorted()
        self.parameterNames = template.parameterNames
        self.tokenKinds = access.tokenKinds
        self.templateText = template.description
        name = method.rawValue + " " + templateText
    }

    package var key: RouteKey { RouteKey(method: method, template: template) }

    package var description: String { "\(method.rawValue) \(templateText)" }

    private enum CodingKeys: String, CodingKey {
        case method, template, scopes, access, sources, definedAt
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(method, forKey: .method)
        try container.encode(template, forKey: .template)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(access, forKey: .access)
        try container.encode(sources, forKey: .sources)
        try container.encode(definedAt.map(\.description), forKey: .definedAt)
    }
}

/// A parameter captured from a request path, e.g. `contactId` = `abc`.
package struct RouteParameter: Sendable, Hashable {
    package var name: String
    package var value: String
}

/// The answer of the trie for `METHOD /path`: the route and the values of its parameters.
package struct RouteMatch: Sendable {
    package let route: CatalogRoute
    package let parameters: [RouteParameter]
    /// The route's template with the request's parameter values, when the request spelled a
    /// literal segment in another ASCII case than the catalog (`/calendars/EVENTS`): the path to
    /// forward, so HighLevel gets the route that was authorized in its own spelling. Nil when the
    /// request's path already spells every literal as the catalog does.
    package let respelledPath: String?

    package subscript(parameter name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }
}
