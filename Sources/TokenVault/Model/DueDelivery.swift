import Foundation

/// A delivery of an event to one subscriber, claimed to be made now.
package struct DueDelivery: Sendable {
    package var id: Int64
    package var webhookId: String
    package var client: String
    package var type: String
    package var locationId: String?
    package var attempts: Int
    package var payload: Data
    package var createdAt: Date
    /// The event's W3C `traceparent`, sent with every attempt (nil for events stored before it was kept).
    package var traceParent: String?
}

/// What an attempt came to.
package enum DeliveryOutcome: Sendable {
    case delivered(status: Int)
    /// Try again at `at`.
    case retry(at: Date, status: Int?, error: String)
    /// No more attempts.
    case failed(status: Int?, error: String)
}
