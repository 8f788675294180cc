import Foundation
import GRDB

/// Fan-out of HighLevel's events to internal subscribers: one row per (event, subscriber),
/// pending until delivered or out of attempts. Rows survive restarts; the payload stays sealed
/// in `webhook_events`.
extension SQLiteVault {
    package func claimDueDeliveries(now: Date, claim: DeliveryClaim, slots: DeliverySlots) async throws(VaultError) -> [DueDelivery] {
        let keyring = self.keyring
        return try await read { db in
            let clients = slots.fullClients
            let skip = clients.isEmpty ? "" : "AND d.client NOT IN (" + clients.map { _ in "?" }.joined(separator: ", ") + ")"
            var arguments: StatementArguments = [now.timeIntervalSince1970]
            arguments += StatementArguments(clients)
            arguments += [slots.readLimit]
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.webhook_id, d.client, d.attempts, d.created_at, e.type, e.location_id, e.payload, e.trace_parent
                    FROM webhook_deliveries d JOIN webhook_events e ON e.webhook_id = d.webhook_id
                    WHERE d.status = 'pending' AND d.next_attempt_at <= ? \(skip)
                    ORDER BY d.next_attempt_at, d.id LIMIT ?
                    """, arguments: arguments)
            return try slots.fitting(rows, id: { $0["id"] }, client: { $0["client"] }).map { try $0.dueDelivery(keyring: keyring) }
        }
    }

    package func nextDeliveryDue() async throws(VaultError) -> Date? {
        try await read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
        }.map(Date.init(timeIntervalSince1970:))
    }

    package func recordDelivery(_ id: Int64, _ outcome: DeliveryOutcome, at now: Date) async throws(VaultError) {
        try await write { db in
            switch outcome {
            case .delivered(let status):
                try db.execute(
                    sql: """
                        UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL,
                            delivered_at = ? WHERE id = ?
                        """, arguments: [status, now.timeIntervalSince1970, id])
            case .retry(let at, let status, let error):
                try db.execute(
                    sql: """
                        UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?
                        """, arguments: [status, String(error.prefix(300)), at.timeIntervalSince1970, id])
            case .failed(let status, let error):
                try db.execute(
                    sql: """
                        UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_status = ?, last_error = ? WHERE id = ?
                        """, arguments: [status, String(error.prefix(300)), id])
            }
        }
    }

    package func deliveries(client: String?, status: String?, type: String?, limit: Int) async throws(VaultError) -> [DeliveryRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let client {
                conditions.append("d.client = ?")
                arguments += [client]
            }
            if let status {
                conditions.append("d.status = ?")
                arguments += [status]
            }
            if let type {
                conditions.append("e.type = ?")
                arguments += [type]
            }
            arguments += [limit]
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT d.*, e.type, e.location_id FROM webhook_deliveries d JOIN webhook_events e ON e.webhook_id = d.webhook_id
                    \(filter) ORDER BY d.id DESC LIMIT ?
                    """, arguments: arguments
            ).map { $0.deliveryRecord() }
        }
    }

    package func retryDelivery(_ id: Int64, now: Date) async throws(VaultError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, id])
            return db.changesCount == 1
        }
    }

    package func retryDeliveries(client: String?, since: Date, now: Date) async throws(VaultError) -> Int {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?
                    WHERE status = 'failed' AND created_at >= ? AND (? IS NULL OR client = ?)
                    """,
                arguments: [now.timeIntervalSince1970, since.timeIntervalSince1970, client, client])
            return db.changesCount
        }
    }

    package func deliveryBacklog() async throws(VaultError) -> [DeliveryBacklog] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT client,
                        SUM(status = 'pending') AS pending, SUM(status = 'failed') AS failed,
                        MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldest,
                        MIN(CASE WHEN status = 'pending' AND attempts > 0 THEN created_at END) AS failing
                    FROM webhook_deliveries GROUP BY client ORDER BY client
                    """
            ).map { $0.deliveryBacklog() }
        }
    }
}
