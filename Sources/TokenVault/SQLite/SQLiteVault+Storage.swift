import Foundation
import GRDB

/// Copies of the file: an online backup, a check of one, and every row for a move to PostgreSQL.
extension SQLiteVault {
    /// A consistent copy of the live database at `destination` (SQLite's backup API, which copies
    /// pages under a read transaction: writers go on meanwhile, and a WAL database is copied whole,
    /// not as a main file without its log). Sealed values stay sealed. Refuses an existing file.
    package func backup(to destination: String) async throws(VaultError) {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw .database("\(destination) exists; a backup never overwrites a file")
        }
        do {
            let copy = try DatabaseQueue(path: destination)
            try pool.backup(to: copy)
            try copy.close()
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw .database("backup to \(destination) failed: \(error)")
        }
    }

    /// Checks a vault file without changing it: integrity, rows per table, the key check values,
    /// and that every sealed value opens with `keyring`.
    package static func verify(path: String, keyring: EncryptionKeyring) async throws(VaultError) -> VaultReport {
        guard FileManager.default.fileExists(atPath: path) else { throw .notFound(path) }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try await queue.read { db in
                let integrity = try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer"
                var counts: [String: Int] = [:]
                for table in VaultReport.tables {
                    counts[table] = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                }
                _ = try verifyKeys(keyring, db)
                let sealed = try VaultReport.openSealed(
                    tokens: Row.fetchAll(db, sql: VaultQueries.tokenRecords), events: Row.fetchAll(db, sql: "SELECT * FROM webhook_events"),
                    keyring: keyring)
                return VaultReport(integrity: integrity, counts: counts, sealedValues: sealed)
            }
        } catch let error as VaultError {
            throw error
        } catch {
            throw .database("cannot read \(path): \(error)")
        }
    }

    /// Every row of the vault's tables, parents before children.
    package func export() async throws(VaultError) -> VaultExport {
        try await read { db in
            try VaultExport(
                tables: VaultReport.tables.map { name in
                    let rows = try Row.fetchAll(db, sql: "SELECT * FROM \(name)")
                    let columns = rows.first.map { Array($0.columnNames) } ?? []
                    return VaultExport.Table(
                        name: name, columns: columns,
                        rows: rows.map { row in
                            columns.map { column in
                                switch row[column] as DatabaseValue? {
                                case .none: .null
                                case .some(let value):
                                    switch value.storage {
                                    case .null: .null
                                    case .int64(let integer): .integer(integer)
                                    case .double(let real): .real(real)
                                    case .string(let text): .text(text)
                                    case .blob(let data): .blob(data)
                                    }
                                }
                            }
                        })
                })
        }
    }
}
