import Foundation

/// An event HighLevel posted, as the vault keeps it: remembered by id for replay protection, kept
/// (payload sealed) with its catalog scopes for fan-out to internal subscribers.
package struct WebhookEvent: Sendable {
    package var webhookId: String
    package var type: String
    package var scopes: [String]
    package var locationId: String?
    package var companyId: String?
    /// Kept (sealed) for events to fan out; nil for lifecycle events, whose effect is already stored.
    package var payload: Data?
    /// The W3C `traceparent` its deliveries carry (the gateway's receipt as their parent span).
    package var traceParent: String?

    package init(
        webhookId: String, type: String, scopes: [String], locationId: String?, companyId: String?, payload: Data?,
        traceParent: String? = nil
    ) {
        self.webhookId = webhookId
        self.type = type
        self.scopes = scopes
        self.locationId = locationId
        self.companyId = companyId
        self.payload = payload
        self.traceParent = traceParent
    }
}
