import Foundation
import GRDB

/// The vault in one SQLite file: the embedded store, for one process (and the command line
/// beside it).
///
/// The database runs in WAL mode with `synchronous=FULL`: a committed write survives a crash or
/// power loss. Other processes on the same file (the `tokens` command) see changes when their
/// caches lapse; only `PostgresVault` announces changes.
package struct SQLiteVault: TokenVault {
    let pool: DatabasePool
    package let keyring: EncryptionKeyring
    package let path: String
    package var location: String { path }

    /// Opens (creating and migrating) the database and checks that the keyring opens everything in it.
    package static func open(path: String, keyring: EncryptionKeyring, busyTimeout: TimeInterval = 5) async throws(VaultError) -> SQLiteVault {
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
            try SQLiteSchema.migrator.migrate(pool)
        } catch {
            throw .database("cannot open \(path): \(error)")
        }
        let vault = SQLiteVault(pool: pool, keyring: keyring, path: path)
        try await vault.checkKeys()
        try await vault.releaseOrphanedLeases()
        return vault
    }

    /// Fails when the database holds ciphertexts under keys the keyring lacks, or when a known key id
    /// does not open its check value (wrong key material); records the current key's check value.
    private func checkKeys() async throws(VaultError) {
        let keyring = self.keyring
        try await write { db in
            if let check = try Self.verifyKeys(keyring, db) {
                try db.execute(
                    sql: "INSERT INTO vault_keys (key_id, check_value, added_at) VALUES (?, ?, ?)",
                    arguments: [keyring.current.id, check, Date().timeIntervalSince1970])
            }
        }
    }

    /// Every process on a SQLite file runs on this host: a lease whose process is gone (killed
    /// mid-refresh) is released at once instead of lapsing, so the refresh it cut off is noted.
    private func releaseOrphanedLeases() async throws(VaultError) {
        try await write { db in
            for holder in try String.fetchAll(db, sql: "SELECT DISTINCT holder FROM renewal_leases") where ReplicaIdentity.isOrphaned(holder) {
                try db.execute(sql: "DELETE FROM renewal_leases WHERE holder = ?", arguments: [holder])
            }
        }
    }

    /// Answers when the database does (readiness).
    package func ping() async throws(VaultError) {
        _ = try await read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Closes the database (after every service has stopped).
    package func close() async throws(VaultError) {
        do { try pool.close() } catch { throw .database("\(error)") }
    }

    /// One process per file: nothing to hear of; returns when cancelled.
    package func watchChanges(_ onChange: @escaping @Sendable (TokenOwner) -> Void) async throws(VaultError) {
        let (silence, continuation) = AsyncStream<Never>.makeStream()
        for await _ in silence {}
        continuation.finish()
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
