import Foundation

/// A delivery as operators see it (and `GET /webhooks/deliveries` lists it).
package struct DeliveryRecord: Sendable, Encodable, Equatable {
    package var id: Int64
    package var webhookId: String
    package var client: String
    package var type: String
    package var locationId: String?
    package var status: String
    package var attempts: Int
    package var nextAttemptAt: Date?
    package var lastStatus: Int?
    package var lastError: String?
    package var createdAt: Date
    package var deliveredAt: Date?
}

/// Per subscriber: what waits, what failed, since when.
package struct DeliveryBacklog: Sendable, Equatable {
    package var client: String
    package var pending: Int
    package var failed: Int
    package var oldestPendingAt: Date?
    /// The oldest pending delivery that has already failed at least once.
    package var failingSince: Date?
}
