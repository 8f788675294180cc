/// One `events:` entry of `policies/catalog-overrides.yaml`: a webhook event HighLevel sends with
/// the scopes that entitle a client to receive it. It adds an event the scopes table does not
/// name, or replaces the scopes the table gives one. The shipped file names every event HighLevel
/// documents, each with a reason where the choice of scope is the gateway's.
package struct CatalogEventOverride: Sendable, Hashable {
    package var event: String
    package var scopes: [String]
    package var reason: String?
    package var location: SourceLocation

    package init(event: String, scopes: [String], reason: String? = nil, location: SourceLocation) {
        self.event = event
        self.scopes = scopes
        self.reason = reason
        self.location = location
    }
}
