import Foundation
import GRDB

/// Webhook deliveries: remembered by id for replay protection, CRM events kept (payload sealed)
/// with their catalog scopes for fan-out to internal subscribers.
extension TokenVault {
    /// A delivery to remember.
    package struct WebhookDelivery: Sendable {
        package var webhookId: String
        package var type: String
        package var scopes: [String]
        package var locationId: String?
        package var companyId: String?
        /// Kept (sealed) for events to fan out; nil for lifecycle events, whose effect is already stored.
        package var payload: Data?

        package init(
            webhookId: String, type: String, scopes: [String], locationId: String?, companyId: String?, payload: Data?
        ) {
            self.webhookId = webhookId
            self.type = type
            self.scopes = scopes
            self.locationId = locationId
            self.companyId = companyId
            self.payload = payload
        }
    }

    /// Stores a delivery unless its id was seen within `retention`, with one pending fan-out row
    /// per subscriber, in one transaction; false for a repeat (nothing is fanned out twice).
    /// Deliveries older than `retention` are purged on the way, except events still pending for
    /// a subscriber.
    package func rememberWebhook(
        _ delivery: WebhookDelivery, subscribers: [String] = [], retention: TimeInterval, now: Date = Date()
    ) async throws(VaultError) -> Bool {
        let keyring = self.keyring
        return try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM webhook_events WHERE received_at < ? AND NOT EXISTS (
                        SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhook_events.webhook_id AND d.status = 'pending')
                    """,
                arguments: [now.addingTimeInterval(-retention).timeIntervalSince1970])
            let sealed = try delivery.payload.map {
                try keyring.seal(String(decoding: $0, as: UTF8.self), context: "webhook/\(delivery.webhookId)")
            }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO webhook_events
                        (webhook_id, type, scopes, location_id, company_id, payload, key_id, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    delivery.webhookId, delivery.type, delivery.scopes.joined(separator: " "), delivery.locationId,
                    delivery.companyId, sealed, sealed == nil ? nil : keyring.current.id, now.timeIntervalSince1970,
                ])
            guard db.changesCount == 1 else { return false }
            for client in subscribers {
                try db.execute(
                    sql: "INSERT INTO webhook_deliveries (webhook_id, client, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [delivery.webhookId, client, now.timeIntervalSince1970, now.timeIntervalSince1970])
            }
            return true
        }
    }

    /// Stored events of a type, payloads opened (for fan-out and tests).
    package func webhookEvents(type: String) async throws(VaultError) -> [(delivery: WebhookDelivery, receivedAt: Date)] {
        let keyring = self.keyring
        return try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook_events WHERE type = ? ORDER BY received_at", arguments: [type]).map { row in
                let id: String = row["webhook_id"]
                let sealed: Data? = row["payload"]
                let payload = try sealed.map { Data(try keyring.open($0, context: "webhook/\(id)").utf8) }
                let scopes: String = row["scopes"]
                return (
                    WebhookDelivery(
                        webhookId: id, type: row["type"], scopes: scopes.split(separator: " ").map(String.init),
                        locationId: row["location_id"], companyId: row["company_id"], payload: payload),
                    Date(timeIntervalSince1970: row["received_at"])
                )
            }
        }
    }
}
