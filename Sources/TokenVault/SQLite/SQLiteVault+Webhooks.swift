import Foundation
import GRDB

/// HighLevel's events: remembered by id, payloads sealed, stored with their fan-out rows, their
/// lifecycle change and their follow-up.
extension SQLiteVault {
    package func rememberWebhook(
        _ event: WebhookEvent, subscribers: [String], change: LifecycleChange?, purgeBefore: Date, now: Date
    ) async throws(VaultError) -> Bool {
        let keyring = self.keyring
        return try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM webhook_events WHERE received_at < ? AND follow_up IS NULL AND NOT EXISTS (
                        SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = webhook_events.webhook_id AND d.status = 'pending')
                    """,
                arguments: [purgeBefore.timeIntervalSince1970])
            let sealed = try event.payload.map {
                try keyring.seal(String(decoding: $0, as: UTF8.self), context: SealContext.webhook(event.webhookId))
            }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO webhook_events
                        (webhook_id, type, scopes, location_id, company_id, payload, key_id, received_at, follow_up, trace_parent)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.webhookId, event.type, event.scopes.joined(separator: " "), event.locationId,
                    event.companyId, sealed, sealed == nil ? nil : keyring.current.id, now.timeIntervalSince1970,
                    change?.followUp?.rawValue, event.traceParent,
                ])
            guard db.changesCount == 1 else { return false }
            switch change {
            case .install(let owner, let companyId, let planId, _):
                try Self.recordAnnouncedInstall(owner, companyId: companyId, planId: planId, at: now, db)
            case .uninstall(let owners):
                for owner in owners { try Self.uninstall(owner, at: now, db) }
            case nil:
                break
            }
            for client in subscribers {
                try db.execute(
                    sql: "INSERT INTO webhook_deliveries (webhook_id, client, next_attempt_at, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [event.webhookId, client, now.timeIntervalSince1970, now.timeIntervalSince1970])
            }
            return true
        }
    }

    package func pendingFollowUps() async throws(VaultError) -> [WebhookFollowUp] {
        try await read { db in
            try Row.fetchAll(db, sql: VaultQueries.pendingFollowUps).compactMap { $0.followUp() }
        }
    }

    package func finishFollowUp(webhookId: String) async throws(VaultError) {
        try await write { db in
            try db.execute(sql: "UPDATE webhook_events SET follow_up = NULL WHERE webhook_id = ?", arguments: [webhookId])
        }
    }
}
