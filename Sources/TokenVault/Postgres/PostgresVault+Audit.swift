import Foundation
import PostgresNIO

/// The audit trail shared by the replicas: an append takes a transaction-scoped advisory lock
/// first, so appenders take turns and each batch follows the last entry another replica wrote.
extension PostgresVault {
    /// The advisory lock an append holds until its transaction ends (`PostgresSchema.lockKey` + 1).
    static let auditLockKey: Int64 = PostgresSchema.lockKey + 1

    /// Rows per `INSERT`: a batch of thousands goes in a few round trips, not one per row (which
    /// held the writer to a few thousand rows a second, below what one busy proxy records).
    static let auditRowsPerStatement = 500

    package func appendAudit(_ records: [AuditRecord]) async throws(VaultError) {
        guard !records.isEmpty else { return }
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.auditLockKey))", logger: logger)
            var previous =
                try await Self.rows(connection.query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1", logger: logger)).first?.text("hash")
                ?? AuditEntry.genesis
            var start = records.startIndex
            while start < records.endIndex {
                let chunk = records[start..<min(start + Self.auditRowsPerStatement, records.endIndex)]
                var binds = PostgresBindings(capacity: chunk.count * VaultQueries.auditColumns.count)
                for record in chunk {
                    let hash = record.hash(after: previous)
                    Self.bind(record, previousHash: previous, hash: hash, to: &binds)
                    previous = hash
                }
                try await connection.query(PostgresQuery(unsafeSQL: Self.auditInsert(rows: chunk.count), binds: binds), logger: logger)
                start = chunk.endIndex
            }
        }
    }

    /// `INSERT INTO audit_log` of `rows` rows, numbered in `VaultQueries.auditColumns` order; rows
    /// keep their order, so ids follow the chain.
    private static func auditInsert(rows: Int) -> String {
        let columns = VaultQueries.auditColumns
        let values = (0..<rows).map { row in
            "(" + columns.indices.map { "$\(row * columns.count + $0 + 1)" }.joined(separator: ", ") + ")"
        }
        return "INSERT INTO audit_log (\(columns.joined(separator: ", "))) VALUES " + values.joined(separator: ", ")
    }

    /// `record`'s values and its hashes, in `VaultQueries.auditColumns` order.
    private static func bind(_ record: AuditRecord, previousHash: String, hash: String, to binds: inout PostgresBindings) {
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
        binds.append(previousHash)
        binds.append(hash)
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
