/// One entry of `policies/catalog-overrides.yaml`: a correction of a route the table gets wrong,
/// or a route the table lacks. Overrides win over the table.
package struct CatalogOverride: Sendable, Hashable {
    package enum Action: String, Sendable, Hashable, CaseIterable {
        /// Replace the scopes and/or access types of a route the table has.
        case correct
        /// Add a route the table lacks; needs both scopes and access types.
        case add
    }

    package var action: Action
    package var method: RouteMethod
    package var template: RouteTemplate
    package var scopes: [String]?
    package var access: [AccessType]?
    package var reason: String?
    package var location: SourceLocation

    package init(
        action: Action, method: RouteMethod, template: RouteTemplate, scopes: [String]? = nil,
        access: [AccessType]? = nil, reason: String? = nil, location: SourceLocation
    ) {
        self.action = action
        self.method = method
        self.template = template
        self.scopes = scopes
        self.access = access
        self.reason = reason
        self.location = location
    }
}
