import Foundation
import GRDB

/// Installations and their tokens in SQLite, tokens sealed with AES-256-GCM.
///
/// The database runs in WAL mode with `synchronous=FULL`: a committed write survives a crash or
/// power loss, which matters because HighLevel rotates refresh tokens and losing the newest one
/// loses the installation. Token writes are compare-and-swap on a version, so a refresh that lost
/// a race is detected instead of overwriting a newer pair.
package struct TokenVault: Sendable {
    let pool: DatabasePool
    package let keyring: EncryptionKeyring
    package let path: String

    private static let keyCheckPlaintext = "ghl-gateway key check"

    /// Opens (creating and migrating) the database and checks that the keyring opens everything in it.
    package static func open(path: String, keyring: EncryptionKeyring, busyTimeout: TimeInterval = 5) async throws(VaultError) -> TokenVault {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        // Tokens are read from memory on the hot path; a few small readers are plenty.
        configuration.maximumReaderCount = 2
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -1024")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted rows are overwritten, so an uninstalled token's ciphertext does not linger in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try VaultSchema.migrator.migrate(pool)
        } catch {
            throw .database("cannot open \(path): \(error)")
        }
        let vault = TokenVault(pool: pool, keyring: keyring, path: path)
        try await vault.checkKeys()
        return vault
    }

    /// Fails when the database holds ciphertexts under keys the keyring lacks, or when a known key id
    /// does not open its check value (wrong key material); records the current key's check value.
    private func checkKeys() async throws(VaultError) {
        let keyring = self.keyring
        try await write { db in
            let checks = try Row.fetchAll(db, sql: "SELECT key_id, check_value FROM vault_keys")
            let tokenKeyIds = try String.fetchAll(
                db, sql: "SELECT DISTINCT key_id FROM tokens UNION SELECT DISTINCT key_id FROM webhook_events WHERE key_id IS NOT NULL")
            let found = Set(checks.map { $0["key_id"] as String } + tokenKeyIds)
            let unknown = found.subtracting(keyring.keyIds)
            if !unknown.isEmpty {
                throw VaultError.unknownKeys(found: unknown.sorted(), configured: keyring.keyIds)
            }
            for check in checks {
                let id: String = check["key_id"]
                let value: Data = check["check_value"]
                guard try keyring.open(value, context: "key-check/\(id)") == Self.keyCheckPlaintext else {
                    throw VaultError.decryptionFailed(context: "the key check of key \(id)")
                }
            }
            if !checks.contains(where: { ($0["key_id"] as String) == keyring.current.id }) {
                let sealed = try keyring.seal(Self.keyCheckPlaintext, context: "key-check/\(keyring.current.id)")
                try db.execute(
                    sql: "INSERT INTO vault_keys (key_id, check_value, added_at) VALUES (?, ?, ?)",
                    arguments: [keyring.current.id, sealed, Date().timeIntervalSince1970])
            }
        }
    }

    /// Answers when the database does (readiness).
    package func ping() async throws(VaultError) {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Closes the database (after every service has stopped).
    package func close() throws(VaultError) {
        do { try pool.close() } catch { throw .database("\(error)") }
    }

    // MARK: Database access

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(VaultError) -> T {
        try await Self.mappingErrors { try await pool.write(body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(VaultError) -> T {
        try await Self.mappingErrors { try await pool.read(body) }
    }

    /// Vault errors as they are; anything else (SQLite, GRDB) as `database`.
    private static func mappingErrors<T>(_ operation: () async throws -> T) async throws(VaultError) -> T {
        do {
            return try await operation()
        } catch let error as VaultError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }
}
