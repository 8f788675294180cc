import Foundation
import GRDB

/// The audit trail in SQLite: one process writes, so the chain's last hash is read and the new
/// entries inserted in one write transaction.
extension SQLiteVault {
    package func appendAudit(_ records: [AuditRecord]) async throws(VaultError) {
        guard !records.isEmpty else { return }
        try await write { db in
            var previous = try String.fetchOne(db, sql: "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1") ?? AuditEntry.genesis
            var rows: [SQLiteAuditInsert.Row] = []
            rows.reserveCapacity(records.count)
            for record in records {
                let hash = record.hash(after: previous)
                rows.append(SQLiteAuditInsert.Row(record: record, previousHash: previous, hash: hash))
                previous = hash
            }
            try SQLiteAuditInsert(db).insert(rows)
        }
    }

    package func auditEntries(_ query: AuditQuery) async throws(VaultError) -> [AuditEntry] {
        try await read { db in
            var conditions = ["id > ?"]
            var arguments: StatementArguments = [query.afterId]
            if let since = query.since {
                conditions.append("at >= ?")
                arguments += [since.timeIntervalSince1970]
            }
            for (column, value) in [("client", query.client), ("decision", query.decision), ("location", query.location)] {
                guard let value else { continue }
                conditions.append("\(column) = ?")
                arguments += [value]
            }
            arguments += [query.limit]
            return try Row.fetchAll(
                db, sql: "SELECT * FROM audit_log WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?", arguments: arguments
            ).map { $0.auditEntry() }
        }
    }

    package func pruneAudit(before: Date) async throws(VaultError) -> Int {
        try await write { db in
            try db.execute(sql: VaultQueries.pruneAudit(parameter: "?"), arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
