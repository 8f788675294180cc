import Foundation
import PostgresNIO

/// The audit trail shared by the replicas: an append takes a transaction-scoped advisory lock
/// first, so appenders take turns and each batch follows the last entry another replica wrote.
extension PostgresVault {
    /// The advisory lock an append holds until its transaction ends (`PostgresSchema.lockKey` + 1).
    static let auditLockKey: Int64 = PostgresSchema.lockKey + 1

    package func appendAudit(_ records: [AuditRecord]) async throws(VaultError) {
        guard !records.isEmpty else { return }
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.auditLockKey))", logger: logger)
            var previous =
                try await Self.rows(connection.query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1", logger: logger)).first?.text("hash")
                ?? AuditEntry.genesis
            let columns = VaultQueries.auditColumns
            let sql =
                "INSERT INTO audit_log (\(columns.joined(separator: ", "))) VALUES (\(columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ")))"
            for record in records {
                let hash = record.hash(after: previous)
                var binds = PostgresBindings()
                binds.append(record.at.timeIntervalSince1970)
                for text in [record.kind.rawValue, record.subject, record.decision] { binds.append(text) }
                for text in [
                    record.requestId, record.traceId, record.client, record.keyPrefix, record.location, record.company, record.code, record.rule,
                    record.policyRevision,
                ] {
                    binds.append(text)
                }
                binds.append(record.upstreamStatus)
                binds.append(record.latencyMs)
                binds.append(record.detail)
                binds.append(previous)
                binds.append(hash)
                try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
                previous = hash
            }
        }
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
            try await Self.rows(connection.query(select, logger: logger)).map { $0.auditEntry() }
        }
    }

    package func pruneAudit(before: Date) async throws(VaultError) -> Int {
        var binds = PostgresBindings()
        binds.append(before.timeIntervalSince1970)
        let query = PostgresQuery(unsafeSQL: VaultQueries.pruneAudit(parameter: "$1") + " RETURNING id", binds: binds)
        return try await transaction { connection in
            try await Self.rows(connection.query(query, logger: logger)).count
        }
    }
}
