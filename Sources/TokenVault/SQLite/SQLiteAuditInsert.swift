import GRDB
import GRDBSQLite

/// Inserts audit rows through SQLite's own binding calls, up to `rowsPerStatement` rows per
/// statement. A row per proxied request makes this the busiest write the gateway has: GRDB's
/// general-purpose arguments (existential values mapped through key paths, then bound in nested
/// closures) cost a row several times SQLite's insert itself, and a statement per row pays
/// SQLite's per-statement work (cursors opened and closed) for each (`ghl-bench audit`). The
/// statements are prepared once per batch, inside the caller's write transaction; rows keep their
/// order, so ids follow the chain.
struct SQLiteAuditInsert {
    /// One row as stored: the record and the hashes that chain it.
    struct Row {
        var record: AuditRecord
        var previousHash: String
        var hash: String
    }

    static let rowsPerStatement = 32

    private let database: Database
    private let full: Statement
    private let single: Statement

    init(_ database: Database) throws {
        self.database = database
        full = try Self.statement(rows: Self.rowsPerStatement, in: database)
        single = try Self.statement(rows: 1, in: database)
    }

    func insert(_ rows: [Row]) throws {
        var start = rows.startIndex
        while rows.endIndex - start >= Self.rowsPerStatement {
            try run(full, rows[start..<start + Self.rowsPerStatement])
            start += Self.rowsPerStatement
        }
        for index in start..<rows.endIndex { try run(single, rows[index...index]) }
    }

    private static func statement(rows: Int, in database: Database) throws -> Statement {
        let columns = VaultQueries.auditColumns
        let values = "(" + columns.map { _ in "?" }.joined(separator: ", ") + ")"
        return try database.makeStatement(
            sql: "INSERT INTO audit_log (\(columns.joined(separator: ", "))) VALUES " + Array(repeating: values, count: rows).joined(separator: ", "))
    }

    private func run(_ statement: Statement, _ rows: ArraySlice<Row>) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        var index: Int32 = 1
        for row in rows {
            bind(row, to: handle, from: index)
            index += Int32(VaultQueries.auditColumns.count)
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(database.sqliteConnection)))
        }
    }

    /// `row`'s values in `VaultQueries.auditColumns` order, from parameter `first` on.
    private func bind(_ row: Row, to handle: SQLiteStatement, from first: Int32) {
        let record = row.record
        sqlite3_bind_double(handle, first, record.at.timeIntervalSince1970)
        bind(record.kind.rawValue, to: handle, at: first + 1)
        bind(record.subject, to: handle, at: first + 2)
        bind(record.decision, to: handle, at: first + 3)
        bind(record.requestId, to: handle, at: first + 4)
        bind(record.traceId, to: handle, at: first + 5)
        bind(record.client, to: handle, at: first + 6)
        bind(record.keyPrefix, to: handle, at: first + 7)
        bind(record.location, to: handle, at: first + 8)
        bind(record.company, to: handle, at: first + 9)
        bind(record.code, to: handle, at: first + 10)
        bind(record.rule, to: handle, at: first + 11)
        bind(record.policyRevision, to: handle, at: first + 12)
        if let status = record.upstreamStatus { sqlite3_bind_int64(handle, first + 13, Int64(status)) } else { sqlite3_bind_null(handle, first + 13) }
        if let latency = record.latencyMs { sqlite3_bind_double(handle, first + 14, latency) } else { sqlite3_bind_null(handle, first + 14) }
        bind(record.detail, to: handle, at: first + 15)
        bind(row.previousHash, to: handle, at: first + 16)
        bind(row.hash, to: handle, at: first + 17)
    }

    /// A copy of `text`'s UTF-8 (SQLite's `SQLITE_TRANSIENT`), or NULL.
    private func bind(_ text: String?, to handle: SQLiteStatement, at index: Int32) {
        guard let text else {
            sqlite3_bind_null(handle, index)
            return
        }
        text.withCString { sqlite3_bind_text(handle, index, $0, Int32(text.utf8.count), Self.transient) }
    }

    /// `SQLITE_TRANSIENT`, which C defines as a cast that Swift does not import.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
