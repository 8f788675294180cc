import Foundation
import PostgresNIO

/// The audit trail shared by the replicas: an append takes a transaction-scoped advisory lock
/// first, so appenders take turns and each batch follows the last entry another replica wrote.
/// Entries written before the blocks stay in `audit_log` and are read first; ids go on after them.
extension PostgresVault {
    /// The advisory lock an append holds until its transaction ends (`PostgresSchema.lockKey` + 1).
    static let auditLockKey: Int64 = PostgresSchema.lockKey + 1

    package func appendAudit(_ records: [AuditRecord]) async throws(VaultError) {
        guard !records.isEmpty else { return }
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.auditLockKey))", logger: logger)
            let end = try await auditEnd(connection)
            for block in AuditBlock.chain(records, after: end.hash, firstId: end.id + 1) {
                var binds = PostgresBindings(capacity: 7)
                binds.append(block.firstId)
                binds.append(block.lastId)
                binds.append(block.previousHash)
                binds.append(block.lastHash)
                binds.append(block.earliest.timeIntervalSince1970)
                binds.append(block.latest.timeIntervalSince1970)
                binds.append(ByteBuffer(bytes: block.bytes))
                let insert = PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO audit_blocks (first_id, last_id, previous_hash, last_hash, earliest, latest, entries)
                        VALUES ($1, $2, $3, $4, $5, $6, $7)
                        """, binds: binds)
                try await connection.query(insert, logger: logger)
            }
        }
    }

    /// Where the chain ends: the last block, else the last row from before the blocks, else its
    /// start, numbered after any id ever used.
    private func auditEnd(_ connection: PostgresConnection) async throws -> (id: Int64, hash: String) {
        if let row = try await Self.rows(connection.query(PostgresQuery(unsafeSQL: VaultQueries.lastAuditBlock), logger: logger)).first {
            return (Int64(row.integer("last_id") ?? 0), row.text("last_hash") ?? AuditEntry.genesis)
        }
        if let row = try await Self.rows(connection.query(PostgresQuery(unsafeSQL: VaultQueries.lastAuditRow), logger: logger)).first {
            return (Int64(row.integer("id") ?? 0), row.text("hash") ?? AuditEntry.genesis)
        }
        let used = try await Self.rows(
            connection.query("SELECT last_value FROM pg_sequences WHERE sequencename = 'audit_log_id_seq'", logger: logger)
        ).first?.integer("last_value")
        return (Int64(used ?? 0), AuditEntry.genesis)
    }

    package func auditEntries(_ query: AuditQuery) async throws(VaultError) -> [AuditEntry] {
        var binds = PostgresBindings()
        binds.append(query.afterId)
        var conditions = ["id > $1"]
        if let since = query.since {
            binds.append(since.timeIntervalSince1970)
            conditions.append("at >= $\(binds.count)")
        }
        for (column, value) in [("client", query.client), ("decision", query.decision), ("location", query.location)] {
            guard let value else { continue }
            binds.append(value)
            conditions.append("\(column) = $\(binds.count)")
        }
        binds.append(query.limit)
        let select = PostgresQuery(
            unsafeSQL: "SELECT * FROM audit_log WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT $\(binds.count)", binds: binds)
        return try await read { connection in
            var entries = try await Self.rows(connection.query(select, logger: logger)).map { $0.auditEntry() }
            var after = query.afterId
            while entries.count < query.limit {
                var binds = PostgresBindings()
                binds.append(after)
                if let since = query.since { binds.append(since.timeIntervalSince1970) }
                let sql = VaultQueries.auditBlocks(after: "$1", since: query.since.map { _ in "$2" }, limit: AuditQuery.blocksPerRead)
                let blocks = try await Self.rows(connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
                guard try query.collect(from: try blocks.map { try $0.auditBlock() }, into: &entries, after: &after) else { break }
            }
            return entries
        }
    }

    package func pruneAudit(before: Date) async throws(VaultError) -> Int {
        var binds = PostgresBindings()
        binds.append(before.timeIntervalSince1970)
        let rows = PostgresQuery(unsafeSQL: VaultQueries.pruneAudit(parameter: "$1") + " RETURNING id", binds: binds)
        let blocks = PostgresQuery(unsafeSQL: VaultQueries.pruneAuditBlocks(parameter: "$1"), binds: binds)
        return try await transaction { connection in
            var pruned = try await Self.rows(connection.query(rows, logger: logger)).count
            let entries = try await Self.rows(connection.query(blocks, logger: logger)).map { $0.integer("entries") ?? 0 }
            if !entries.isEmpty {
                pruned += try await Self.rows(
                    connection.query(PostgresQuery(unsafeSQL: VaultQueries.pruneAuditRowsBeforeBlocks + " RETURNING id"), logger: logger)
                ).count
                pruned += entries.reduce(0, +)
            }
            return pruned
        }
    }
}
