import Foundation
import PostgresNIO

/// A move from SQLite: every row copied in one transaction into an empty database, then checked.
extension PostgresVault {
    /// Copies `export` into this database, which must hold no installation yet. Sealed values are
    /// copied as they are: each is bound to its owner or event, which the copy keeps.
    package func importRows(_ export: VaultExport) async throws(VaultError) {
        let existing = try await report().counts["installations"] ?? 0
        guard existing == 0 else { throw .database("\(location) already holds \(existing) installation(s); migrate into an empty database") }
        try await transaction { connection in
            for table in export.tables where !table.rows.isEmpty {
                let columns = table.columns.map { "\"\($0)\"" }.joined(separator: ", ")
                let placeholders = table.columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
                let overriding = table.columns.contains("id") ? " OVERRIDING SYSTEM VALUE" : ""
                // The one row the target may hold already: its key check, written when it was opened.
                let sql = "INSERT INTO \(table.name) (\(columns))\(overriding) VALUES (\(placeholders)) ON CONFLICT DO NOTHING"
                for row in table.rows {
                    var binds = PostgresBindings()
                    for value in row {
                        switch value {
                        case .null: binds.appendNull()
                        case .integer(let integer): binds.append(integer)
                        case .real(let real): binds.append(real)
                        case .text(let text): binds.append(text)
                        case .blob(let data): try binds.append(data)
                        }
                    }
                    try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                }
            }
            // Deliveries and audit entries created from now on are numbered after the copied ones.
            for table in ["webhook_deliveries", "audit_log"] {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)"),
                    logger: logger)
            }
        }
    }

    /// Rows per table and the sealed values, opened with this vault's keys.
    package func report() async throws(VaultError) -> VaultReport {
        let keyring = self.keyring
        let (counts, tokens, events) = try await read { connection in
            var counts: [String: Int] = [:]
            for table in VaultReport.tables {
                counts[table] =
                    try await Self.rows(connection.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(table)"), logger: logger))
                    .first?.integer("n") ?? 0
            }
            let tokens = try await Self.rows(connection.query(PostgresQuery(unsafeSQL: VaultQueries.tokenRecords), logger: logger))
            let events = try await Self.rows(connection.query("SELECT * FROM webhook_events", logger: logger))
            return (counts, tokens, events)
        }
        return VaultReport(integrity: nil, counts: counts, sealedValues: try VaultReport.openSealed(tokens: tokens, events: events, keyring: keyring))
    }
}
