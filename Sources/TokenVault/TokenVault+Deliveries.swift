import Foundation
import GRDB

/// Fan-out of HighLevel's events to internal subscribers: one row per (event, subscriber),
/// pending until delivered or out of attempts. Rows survive restarts; the payload stays sealed
/// in `webhook_events`.
extension TokenVault {
    /// A delivery to make now.
    package struct DueDelivery: Sendable {
        package var id: Int64
        package var webhookId: String
        package var client: String
        package var type: String
        package var locationId: String?
        package var attempts: Int
        package var payload: Data
        package var createdAt: Date
    }

    /// What an attempt came to.
    package enum DeliveryOutcome: Sendable {
        case delivered(status: Int)
        /// Try again at `at`.
        case retry(at: Date, status: Int?, error: String)
        /// No more attempts.
        case failed(status: Int?, error: String)
    }

    /// A delivery as operators see it (and `GET /webhooks/deliveries` lists it).
    package struct DeliveryRecord: Sendable, Encodable {
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

    /// Pending deliveries due by `now`, oldest first, payloads opened; none of `busy` (being
    /// attempted) and none for `fullClients` (at their share of attempts).
    package func dueDeliveries(
        now: Date = Date(), excluding busy: Set<Int64> = [], fullClients: Set<String> = [], limit: Int
    ) async throws(VaultError) -> [DueDelivery] {
        let keyring = self.keyring
        return try await read { db in
            let clients = fullClients.sorted()
            let skip = clients.isEmpty ? "" : "AND d.client NOT IN (" + clients.map { _ in "?" }.joined(separator: ", ") + ")"
            var arguments: StatementArguments = [now.timeIntervalSince1970]
            arguments += StatementArguments(clients)
            arguments += [limit + busy.count]
            let rows = try Row.fetchAll(db, sql: """
                SELECT d.id, d.webhook_id, d.client, d.attempts, d.created_at, e.type, e.location_id, e.payload
                FROM webhook_deliveries d JOIN webhook_events e ON e.webhook_id = d.webhook_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= ? \(skip)
                ORDER BY d.next_attempt_at, d.id LIMIT ?
                """, arguments: arguments)
            return try rows.compactMap { row -> DueDelivery? in
                let id: Int64 = row["id"]
                guard !busy.contains(id) else { return nil }
                let webhookId: String = row["webhook_id"]
                let sealed: Data? = row["payload"]
                let payload = try sealed.map { Data(try keyring.open($0, context: "webhook/\(webhookId)").utf8) } ?? Data()
                return DueDelivery(
                    id: id, webhookId: webhookId, client: row["client"], type: row["type"], locationId: row["location_id"],
                    attempts: row["attempts"], payload: payload, createdAt: Date(timeIntervalSince1970: row["created_at"]))
            }.prefix(limit).map { $0 }
        }
    }

    /// When the next pending delivery is due, if any is pending.
    package func nextDeliveryDue() async throws(VaultError) -> Date? {
        try await read { db in
            try Double.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
        }.map(Date.init(timeIntervalSince1970:))
    }

    /// Records an attempt's outcome (the attempt count goes up by one).
    package func recordDelivery(_ id: Int64, _ outcome: DeliveryOutcome, at now: Date = Date()) async throws(VaultError) {
        try await write { db in
            switch outcome {
            case .delivered(let status):
                try db.execute(sql: """
                    UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = NULL,
                        delivered_at = ? WHERE id = ?
                    """, arguments: [status, now.timeIntervalSince1970, id])
            case .retry(let at, let status, let error):
                try db.execute(sql: """
                    UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, next_attempt_at = ? WHERE id = ?
                    """, arguments: [status, String(error.prefix(300)), at.timeIntervalSince1970, id])
            case .failed(let status, let error):
                try db.execute(sql: """
                    UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_status = ?, last_error = ? WHERE id = ?
                    """, arguments: [status, String(error.prefix(300)), id])
            }
        }
    }

    /// Deliveries, newest first, optionally of one client, status or event type.
    package func deliveries(client: String? = nil, status: String? = nil, type: String? = nil, limit: Int = 500) async throws(VaultError) -> [DeliveryRecord] {
        try await read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let client { conditions.append("d.client = ?"); arguments += [client] }
            if let status { conditions.append("d.status = ?"); arguments += [status] }
            if let type { conditions.append("e.type = ?"); arguments += [type] }
            arguments += [limit]
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: """
                SELECT d.*, e.type, e.location_id FROM webhook_deliveries d JOIN webhook_events e ON e.webhook_id = d.webhook_id
                \(filter) ORDER BY d.id DESC LIMIT ?
                """, arguments: arguments).map { row in
                let status: String = row["status"]
                return DeliveryRecord(
                    id: row["id"], webhookId: row["webhook_id"], client: row["client"], type: row["type"], locationId: row["location_id"],
                    status: status, attempts: row["attempts"],
                    nextAttemptAt: status == "pending" ? Date(timeIntervalSince1970: row["next_attempt_at"]) : nil,
                    lastStatus: row["last_status"], lastError: row["last_error"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    deliveredAt: (row["delivered_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// An operator's retry: the delivery is pending again, due now, with a fresh schedule. False
    /// when no such delivery exists.
    package func retryDelivery(_ id: Int64, now: Date = Date()) async throws(VaultError) -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, id])
            return db.changesCount == 1
        }
    }

    /// Replays a range: every failed delivery of `client` (or of every client) created since
    /// `since` is pending again; returns how many.
    package func retryDeliveries(client: String?, since: Date, now: Date = Date()) async throws(VaultError) -> Int {
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

    /// Per subscriber: what waits, what failed, since when.
    package struct Backlog: Sendable, Equatable {
        package var client: String
        package var pending: Int
        package var failed: Int
        package var oldestPendingAt: Date?
        /// The oldest pending delivery that has already failed at least once.
        package var failingSince: Date?
    }

    package func deliveryBacklog() async throws(VaultError) -> [Backlog] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT client,
                    SUM(status = 'pending') AS pending, SUM(status = 'failed') AS failed,
                    MIN(CASE WHEN status = 'pending' THEN created_at END) AS oldest,
                    MIN(CASE WHEN status = 'pending' AND attempts > 0 THEN created_at END) AS failing
                FROM webhook_deliveries GROUP BY client ORDER BY client
                """).map { row in
                Backlog(
                    client: row["client"], pending: row["pending"], failed: row["failed"],
                    oldestPendingAt: (row["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    failingSince: (row["failing"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }
}
