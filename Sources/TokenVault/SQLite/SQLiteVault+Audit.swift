import Foundation
import GRDB

/// The audit trail in SQLite: one process writes, so the chain's end is read and the new blocks
/// inserted in one write transaction. Entries written before the blocks stay in `audit_log` and
/// are read first; ids go on after them.
extension SQLiteVault {
    package func appendAudit(_ records: [AuditRecord]) async throws(VaultError) {
        guard !records.isEmpty else { return }
        try await write { db in
            let end = try Self.auditEnd(db)
            for block in AuditBlock.chain(records, after: end.hash, firstId: end.id + 1) {
                try db.execute(
                    sql: """
                        INSERT INTO audit_blocks (first_id, last_id, previous_hash, last_hash, earliest, latest, entries)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        block.firstId, block.lastId, block.previousHash, block.lastHash, block.earliest.timeIntervalSince1970,
                        block.latest.timeIntervalSince1970, Data(block.bytes),
                    ])
            }
        }
    }

    /// Where the chain ends: the last block, else the last row from before the blocks, else its
    /// start, numbered after any id ever used.
    private static func auditEnd(_ db: Database) throws -> (id: Int64, hash: String) {
        if let row = try Row.fetchOne(db, sql: VaultQueries.lastAuditBlock) { return (row["last_id"], row["last_hash"]) }
        if let row = try Row.fetchOne(db, sql: VaultQueries.lastAuditRow) { return (row["id"], row["hash"]) }
        return (try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'") ?? 0, AuditEntry.genesis)
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
            var entries = try Row.fetchAll(
                db, sql: "SELECT * FROM audit_log WHERE \(conditions.joined(separator: " AND ")) ORDER BY id LIMIT ?", arguments: arguments
            ).map { $0.auditEntry() }
            var after = query.afterId
            while entries.count < query.limit {
                var arguments: StatementArguments = [after]
                if let since = query.since { arguments += [since.timeIntervalSince1970] }
                let sql = VaultQueries.auditBlocks(after: "?", since: query.since.map { _ in "?" }, limit: AuditQuery.blocksPerRead)
                let blocks = try Row.fetchAll(db, sql: sql, arguments: arguments)
                guard try query.collect(from: try blocks.map { try $0.auditBlock() }, into: &entries, after: &after) else { break }
            }
            return entries
        }
    }

    package func pruneAudit(before: Date) async throws(VaultError) -> Int {
        try await write { db in
            let cutoff = before.timeIntervalSince1970
            try db.execute(sql: VaultQueries.pruneAudit(parameter: "?"), arguments: [cutoff])
            var pruned = db.changesCount
            let blocks = try Int.fetchAll(db, sql: VaultQueries.pruneAuditBlocks(parameter: "?"), arguments: [cutoff])
            if !blocks.isEmpty {
                try db.execute(sql: VaultQueries.pruneAuditRowsBeforeBlocks)
                pruned += db.changesCount + blocks.reduce(0, +)
            }
            return pruned
        }
    }
}
