import Foundation
import PostgresNIO

/// HighLevel's events: remembered by id (so an event posted to two replicas at once is acted on
/// once: the second insert finds the first), payloads sealed, stored with their fan-out rows,
/// their lifecycle change and their follow-up.
extension PostgresVault {
    package func rememberWebhook(
        _ event: WebhookEvent, subscribers: [String], change: LifecycleChange?, purgeBefore: Date, now: Date
    ) async throws(VaultError) -> Bool {
        let sealed: Data?
        if let payload = event.payload {
            sealed = try keyring.seal(String(decoding: payload, as: UTF8.self), context: SealContext.webhook(event.webhookId))
        } else {
            sealed = nil
        }
        let keyId = sealed == nil ? nil : keyring.current.id
        return try await transaction { connection in
            try await connection.query(
                """
                DELETE FROM webhook_events e WHERE received_at < \(purgeBefore.timeIntervalSince1970) AND follow_up IS NULL AND NOT EXISTS (
                    SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = e.webhook_id AND d.status = 'pending')
                """, logger: logger)
            let inserted = try await Self.rows(
                connection.query(
                    """
                    INSERT INTO webhook_events
                        (webhook_id, type, scopes, location_id, company_id, payload, key_id, received_at, follow_up, trace_parent)
                    VALUES (\(event.webhookId), \(event.type), \(event.scopes.joined(separator: " ")), \(event.locationId),
                        \(event.companyId), \(sealed), \(keyId), \(now.timeIntervalSince1970), \(change?.followUp?.rawValue),
                        \(event.traceParent))
                    ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id
                    """, logger: logger))
            guard !inserted.isEmpty else { return false }
            switch change {
            case .install(let owner, let companyId, let planId, _):
                try await recordAnnouncedInstall(owner, companyId: companyId, planId: planId, at: now, on: connection)
            case .uninstall(let owners):
                for owner in owners { try await uninstall(owner, at: now, on: connection) }
            case nil:
                break
            }
            for client in subscribers {
                try await connection.query(
                    """
                    INSERT INTO webhook_deliveries (webhook_id, client, next_attempt_at, created_at)
                    VALUES (\(event.webhookId), \(client), \(now.timeIntervalSince1970), \(now.timeIntervalSince1970))
                    """, logger: logger)
            }
            return true
        }
    }

    package func pendingFollowUps() async throws(VaultError) -> [WebhookFollowUp] {
        try await read { connection in
            try await Self.rows(connection.query(PostgresQuery(unsafeSQL: VaultQueries.pendingFollowUps), logger: logger))
                .compactMap { $0.followUp() }
        }
    }

    package func finishFollowUp(webhookId: String) async throws(VaultError) {
        try await transaction { connection in
            try await connection.query("UPDATE webhook_events SET follow_up = NULL WHERE webhook_id = \(webhookId)", logger: logger)
        }
    }
}
