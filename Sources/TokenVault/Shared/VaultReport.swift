import Foundation

/// What a check of a vault found: SQLite's integrity verdict, rows per table, and how many sealed
/// values opened with the configured keys (all of them, or the check fails naming the first that
/// did not). For `storage verify` and for checking a migration by counts.
package struct VaultReport: Sendable, Equatable {
    /// The tables a vault's data lives in (leases and the schema's own bookkeeping aside).
    package static let tables = [
        "installations", "tokens", "vault_keys", "oauth_states", "oauth_codes", "webhook_events", "webhook_deliveries", "audit_log",
        "audit_blocks",
    ]

    /// `PRAGMA integrity_check` ("ok"), for SQLite; nil for PostgreSQL, which checks its own pages.
    package var integrity: String?
    package var counts: [String: Int]
    package var sealedValues: Int

    /// Opens every sealed value of `tokens` and `events` rows (as `VaultRow+Values` reads them);
    /// how many there were.
    static func openSealed(tokens: [some VaultRow], events: [some VaultRow], keyring: EncryptionKeyring) throws(VaultError) -> Int {
        var opened = 0
        for row in tokens {
            let token = try row.storedToken(keyring: keyring)
            opened += token.refreshToken == nil ? 1 : 2
        }
        for row in events where row.blob("payload") != nil {
            _ = try row.webhookEvent(keyring: keyring)
            opened += 1
        }
        return opened
    }

    /// One line per fact, for the command line.
    package var lines: [String] {
        var lines: [String] = []
        if let integrity { lines.append("integrity: \(integrity)") }
        lines += Self.tables.map { "\($0): \(counts[$0] ?? 0)" }
        lines.append("sealed values opened: \(sealedValues)")
        return lines
    }
}

/// A value of a row copied between stores.
package enum VaultValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// Every row of every table of `VaultReport.tables`, in an order that keeps foreign keys whole.
package struct VaultExport: Sendable {
    package struct Table: Sendable {
        package var name: String
        package var columns: [String]
        package var rows: [[VaultValue]]
    }

    package var tables: [Table]
}
