import Foundation
import PostgresNIO

/// Fan-out rows shared by the replicas: each due row is claimed by one of them (`FOR UPDATE SKIP
/// LOCKED`, then `claimed_until` and `claimed_by`), so a delivery is attempted by one replica at a
/// time; a claim left by a replica that died is void once its heartbeat is stale (or at once when
/// it restarts under its name), and another delivers.
extension PostgresVault {
    package func claimDueDeliveries(now: Date, claim: DeliveryClaim, slots: DeliverySlots) async throws(VaultError) -> [DueDelivery] {
        let keyring = self.keyring
        let rows = try await transaction { connection in
            let candidates = try await Self.rows(
                connection.query(
                    """
                    SELECT d.id, d.webhook_id, d.client, d.attempts, d.created_at, e.type, e.location_id, e.payload, e.trace_parent
                    FROM webhook_deliveries d JOIN webhook_events e ON e.webhook_id = d.webhook_id
                    WHERE d.status = 'pending' AND d.next_attempt_at <= \(now.timeIntervalSince1970)
                        AND (d.claimed_until IS NULL OR d.claimed_until <= \(now.timeIntervalSince1970) OR NOT EXISTS (
                            SELECT 1 FROM replicas r WHERE r.id || '@' || r.incarnation = d.claimed_by
                                AND r.last_seen >= \(claim.replicasSeenSince.timeIntervalSince1970)))
                        AND NOT (d.client = ANY(\(slots.fullClients)))
                    ORDER BY d.next_attempt_at, d.id LIMIT \(slots.readLimit)
                    FOR UPDATE OF d SKIP LOCKED
                    """, logger: logger))
            let taken = slots.fitting(candidates, id: { Int64($0.integer("id") ?? 0) }, client: { $0.text("client") ?? "" })
            let ids = taken.map { Int64($0.integer("id") ?? 0) }
            if !ids.isEmpty {
                try await connection.query(
                    "UPDATE webhook_deliveries SET claimed_until = \(claim.until.timeIntervalSince1970), claimed_by = \(claim.holder) WHERE id = ANY(\(ids))",
                    logger: logger)
            }
            return taken
        }
        return try rows.map { row throws(VaultError) in try row.dueDelivery(keyring: keyring) }
    }

    package func nextDeliveryDue() async throws(VaultError) -> Date? {
        try await read { connection in
            try await Self.rows(
                connection.query(
                    "SELECT MIN(next_attempt_at) AS due FROM webhook_deliveries WHERE status = 'pending'", logger: logger)
            ).first?.date("due")
        }
    }

    package func recordDelivery(_ id: Int64, _ outcome: DeliveryOutcome, at now: Date) async throws(VaultError) {
        try await transaction { connection in
            switch outcome {
            case .delivered(let status):
                try await connection.query(
                    """
                    UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = \(status),
                        last_error = NULL, delivered_at = \(now.timeIntervalSince1970), claimed_until = NULL WHERE id = \(id)
                    """, logger: logger)
            case .retry(let at, let status, let error):
                try await connection.query(
                    """
                    UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = \(status), last_error = \(String(error.prefix(300))),
                        next_attempt_at = \(at.timeIntervalSince1970), claimed_until = NULL WHERE id = \(id)
                    """, logger: logger)
            case .failed(let status, let error):
                try await connection.query(
                    """
                    UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_status = \(status),
                        last_error = \(String(error.prefix(300))), claimed_until = NULL WHERE id = \(id)
                    """, logger: logger)
            }
        }
    }

    package func deliveries(client: String?, status: String?, type: String?, limit: Int) async throws(VaultError) -> [DeliveryRecord] {
        try await read { connection in
            try await Self.rows(
                connection.query(
                    """
                    SELECT d.*, e.type, e.location_id FROM webhook_deliveries d JOIN webhook_events e ON e.webhook_id = d.webhook_id
                    WHERE (\(client)::TEXT IS NULL OR d.client = \(client)) AND (\(status)::TEXT IS NULL OR d.status = \(status))
                        AND (\(type)::TEXT IS NULL OR e.type = \(type))
                    ORDER BY d.id DESC LIMIT \(limit)
                    """, logger: logger)
            ).map { $0.deliveryRecord() }
        }
    }

    package func retryDelivery(_ id: Int64, now: Date) async throws(VaultError) -> Bool {
        try await transaction { connection in
            try await !Self.rows(
                connection.query(
                    """
                    UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = \(now.timeIntervalSince1970)
                    WHERE id = \(id) RETURNING id
                    """, logger: logger)
            ).isEmpty
        }
    }

    package func retryDeliveries(client: String?, since: Date, now: Date) async throws(VaultError) -> Int {
        try await transaction { connection in
            try await Self.rows(
                connection.query(
                    """
                    UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = \(now.timeIntervalSince1970)
                    WHERE status = 'failed' AND created_at >= \(since.timeIntervalSince1970) AND (\(client)::TEXT IS NULL OR client = \(client))
                    RETURNING id
                    """, logger: logger)
            ).count
        }
    }

    package func deliveryBacklog() async throws(VaultError) -> [DeliveryBacklog] {
        try await read { connection in
            try await Self.rows(
                connection.query(
                    """
                    SELECT client,
                        COUNT(*) FILTER (WHERE status = 'pending') AS pending, COUNT(*) FILTER (WHERE status = 'failed') AS failed,
                        MIN(created_at) FILTER (WHERE status = 'pending') AS oldest,
                        MIN(created_at) FILTER (WHERE status = 'pending' AND attempts > 0) AS failing
                    FROM webhook_deliveries GROUP BY client ORDER BY client
                    """, logger: logger)
            ).map { $0.deliveryBacklog() }
        }
    }
}
