import Foundation
import GRDB
import PostgresNIO

@testable import TokenVault

extension TokenVault {
    /// The stored events of a type, payloads opened, oldest first: what a test checks was kept.
    package func webhookEvents(type: String) async throws -> [(event: WebhookEvent, receivedAt: Date)] {
        let keyring = self.keyring
        switch self {
        case let vault as SQLiteVault:
            return try await vault.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM webhook_events WHERE type = ? ORDER BY received_at", arguments: [type]).map { row in
                    (try row.webhookEvent(keyring: keyring), row.date("received_at") ?? .distantPast)
                }
            }
        case let vault as PostgresVault:
            let rows = try await vault.read { connection in
                try await PostgresVault.rows(
                    connection.query("SELECT * FROM webhook_events WHERE type = \(type) ORDER BY received_at", logger: vault.logger))
            }
            return try rows.map { (try $0.webhookEvent(keyring: keyring), $0.date("received_at") ?? .distantPast) }
        default:
            throw VaultError.database("no test reader for \(Swift.type(of: self))")
        }
    }
}
