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

    // MARK: Installations

    package func installation(_ owner: TokenOwner) async throws(VaultError) -> Installation? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM installations WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id]
            ).map(Self.installation(from:))
        }
    }

    package func installations() async throws(VaultError) -> [Installation] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM installations ORDER BY kind, owner_id").map(Self.installation(from:))
        }
    }

    /// Records locations of a company (from `approvedLocations`, `installedLocations` or a webhook)
    /// without touching what is known of them already; an uninstalled one becomes installed again.
    package func linkLocations(_ locationIds: [String], toCompany companyId: String, source: Installation.Source) async throws(VaultError) {
        let now = Date().timeIntervalSince1970
        try await write { db in
            for locationId in locationIds {
                try db.execute(
                    sql: """
                        INSERT INTO installations (kind, owner_id, company_id, source, status, installed_at)
                        VALUES ('location', ?, ?, ?, 'installed', ?)
                        ON CONFLICT (kind, owner_id) DO UPDATE SET
                            company_id = COALESCE(company_id, excluded.company_id),
                            status = CASE WHEN status = 'uninstalled' THEN 'installed' ELSE status END,
                            uninstalled_at = CASE WHEN status = 'uninstalled' THEN NULL ELSE uninstalled_at END
                        """,
                    arguments: [locationId, companyId, source.rawValue, now])
            }
        }
    }

    /// Records an install HighLevel announced by webhook, before or after the code exchange: creates
    /// the installation if unknown, fills in what was missing, and reinstates an uninstalled one,
    /// never touching scopes or tokens the code exchange stored.
    package func recordAnnouncedInstall(
        _ owner: TokenOwner, companyId: String?, planId: String?, at date: Date = Date()
    ) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO installations (kind, owner_id, company_id, plan_id, source, status, installed_at)
                    VALUES (?, ?, ?, ?, 'webhook', 'installed', ?)
                    ON CONFLICT (kind, owner_id) DO UPDATE SET
                        company_id = COALESCE(company_id, excluded.company_id),
                        plan_id = COALESCE(excluded.plan_id, plan_id),
                        status = CASE WHEN status = 'uninstalled' THEN 'installed' ELSE status END,
                        uninstalled_at = CASE WHEN status = 'uninstalled' THEN NULL ELSE uninstalled_at END
                    """,
                arguments: [owner.kind, owner.id, companyId, planId, date.timeIntervalSince1970])
        }
    }

    /// The locations linked to a company that got their access through it (not installed on their own).
    package func locationsDerived(fromCompany companyId: String) async throws(VaultError) -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT owner_id FROM installations WHERE kind = 'location' AND company_id = ? AND source != 'install' AND status != 'uninstalled'",
                arguments: [companyId])
        }
    }

    /// Marks an installation uninstalled and deletes its token row (the ciphertexts go, not just a flag).
    package func uninstall(_ owner: TokenOwner, at date: Date = Date()) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
            try db.execute(
                sql: "UPDATE installations SET status = 'uninstalled', uninstalled_at = ? WHERE kind = ? AND owner_id = ?",
                arguments: [date.timeIntervalSince1970, owner.kind, owner.id])
        }
    }

    // MARK: Tokens

    /// Stores the result of a code exchange: the installation and its token in one transaction.
    /// A new install supersedes whatever token was stored for the owner.
    @discardableResult
    package func install(_ installation: Installation, grant: TokenGrant) async throws(VaultError) -> TokenRecord {
        try await install([(installation, grant)])[0]
    }

    /// Several installs in one transaction (bulk provisioning, benchmarks).
    @discardableResult
    package func install(_ installs: [(Installation, TokenGrant)]) async throws(VaultError) -> [TokenRecord] {
        let keyring = self.keyring
        return try await write { db in
            try installs.map { installation, grant in
                try Self.upsert(installation, db)
                let owner = installation.owner
                let current = try Int.fetchOne(
                    db, sql: "SELECT version FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
                try db.execute(sql: "DELETE FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
                try Self.insertToken(grant, owner: owner, version: (current ?? 0) + 1, keyring: keyring, db)
                return try Self.record(owner, db)!
            }
        }
    }

    /// Stores a refreshed or exchanged pair. `replacing` is the version the caller read: nil means the
    /// owner must have no token yet. Throws `versionConflict` when the stored token is no longer that
    /// version (another refresh won); nothing is written then.
    @discardableResult
    package func store(_ grant: TokenGrant, for owner: TokenOwner, replacing expected: Int?) async throws(VaultError) -> TokenRecord {
        let keyring = self.keyring
        return try await write { db in
            let current = try Int.fetchOne(
                db, sql: "SELECT version FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
            guard current == expected else {
                throw VaultError.versionConflict(owner: owner.description, expected: expected ?? 0)
            }
            guard try Self.installationExists(owner, db) else { throw VaultError.notFound("installation \(owner)") }
            try db.execute(sql: "DELETE FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
            try Self.insertToken(
                grant, owner: owner, version: (expected ?? 0) + 1, keyring: keyring, db,
                lastRefreshAt: grant.origin == .code ? nil : Date())
            return try Self.record(owner, db)!
        }
    }

    /// After a restart: refreshes that were started but whose result was never stored (the process
    /// died in between). Each is marked `refresh_failing` with an explanation; if HighLevel did
    /// complete it, the stored refresh token is dead and the next refresh reports `invalid_grant`.
    @discardableResult
    package func noteInterruptedRefreshes() async throws(VaultError) -> [TokenOwner] {
        try await write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT kind, owner_id, refresh_started_at FROM tokens WHERE refresh_started_at IS NOT NULL")
            for row in rows {
                let started = Date(timeIntervalSince1970: row["refresh_started_at"])
                try db.execute(
                    sql: """
                        UPDATE tokens SET state = 'refresh_failing', refresh_started_at = NULL, last_error = ?
                        WHERE kind = ? AND owner_id = ?
                        """,
                    arguments: [
                        "refresh interrupted at \(ISO8601DateFormatter().string(from: started)): the process stopped before its result was stored",
                        row["kind"], row["owner_id"],
                    ])
            }
            return rows.compactMap { TokenOwner(kind: $0["kind"], id: $0["owner_id"]) }
        }
    }

    /// Records, durably, that a refresh of `version` is about to go upstream.
    package func markRefreshStarted(_ owner: TokenOwner, version: Int, at date: Date = Date()) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE tokens SET refresh_started_at = ? WHERE kind = ? AND owner_id = ? AND version = ?",
                arguments: [date.timeIntervalSince1970, owner.kind, owner.id, version])
            if db.changesCount == 0 { throw VaultError.versionConflict(owner: owner.description, expected: version) }
        }
    }

    /// Records a failed refresh or exchange of `version`: the error (never a secret), the failure count,
    /// when to try again, and whether the installation must be reinstalled.
    package func recordFailure(
        _ owner: TokenOwner, version: Int, error message: String, needsReinstall: Bool, nextAttemptAt: Date?
    ) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE tokens SET last_error = ?, consecutive_failures = consecutive_failures + 1,
                        next_attempt_at = ?, state = ?, refresh_started_at = NULL
                    WHERE kind = ? AND owner_id = ? AND version = ?
                    """,
                arguments: [
                    message, nextAttemptAt?.timeIntervalSince1970,
                    (needsReinstall ? TokenState.needsReinstall : .refreshFailing).rawValue,
                    owner.kind, owner.id, version,
                ])
            if db.changesCount == 0 { throw VaultError.versionConflict(owner: owner.description, expected: version) }
            if needsReinstall {
                try db.execute(
                    sql: "UPDATE installations SET status = 'needs_reinstall' WHERE kind = ? AND owner_id = ?",
                    arguments: [owner.kind, owner.id])
            }
        }
    }

    /// The owner's token, decrypted; nil when there is none.
    package func token(for owner: TokenOwner) async throws(VaultError) -> StoredToken? {
        let keyring = self.keyring
        return try await read { db in
            guard let row = try Row.fetchOne(
                db, sql: Self.recordSelect + " WHERE t.kind = ? AND t.owner_id = ?", arguments: [owner.kind, owner.id])
            else { return nil }
            let record = Self.record(from: row)
            let access: Data = row["access_token"]
            let refresh: Data? = row["refresh_token"]
            return StoredToken(
                record: record,
                accessToken: Secret(try keyring.open(access, context: "\(owner)/access")),
                refreshToken: try refresh.map { Secret(try keyring.open($0, context: "\(owner)/refresh")) })
        }
    }

    /// Every stored token's metadata, no secrets.
    package func tokenRecords() async throws(VaultError) -> [TokenRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: Self.recordSelect + " ORDER BY t.kind, t.owner_id").map(Self.record(from:))
        }
    }

    /// The tokens that expire before `date`, by the `tokens_expiry` index: what a refresh pass
    /// needs, without reading every installation.
    package func tokenRecords(expiringBefore date: Date) async throws(VaultError) -> [TokenRecord] {
        try await read { db in
            try Row.fetchAll(
                db, sql: Self.recordSelect + " WHERE t.expires_at < ? ORDER BY t.expires_at", arguments: [date.timeIntervalSince1970]
            ).map(Self.record(from:))
        }
    }

    /// Marks the owner's token expired now (operators forcing a renewal; the refresh storm benchmark).
    package func expire(_ owner: TokenOwner) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE tokens SET expires_at = 0 WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
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

    // MARK: Rows

    private static func upsert(_ installation: Installation, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO installations (kind, owner_id, company_id, granted_scopes, is_bulk, plan_id, user_id, source,
                    status, installed_at, uninstalled_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (kind, owner_id) DO UPDATE SET
                    company_id = COALESCE(excluded.company_id, company_id),
                    granted_scopes = excluded.granted_scopes, is_bulk = excluded.is_bulk,
                    plan_id = COALESCE(excluded.plan_id, plan_id), user_id = COALESCE(excluded.user_id, user_id),
                    source = excluded.source, status = excluded.status, uninstalled_at = excluded.uninstalled_at
                """,
            arguments: [
                installation.owner.kind, installation.owner.id, installation.companyId,
                installation.grantedScopes.joined(separator: " "), installation.isBulk, installation.planId,
                installation.userId, installation.source.rawValue, installation.status.rawValue,
                installation.installedAt.timeIntervalSince1970, installation.uninstalledAt?.timeIntervalSince1970,
            ])
    }

    private static func installationExists(_ owner: TokenOwner, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT 1 FROM installations WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id]) ?? false
    }

    private static func insertToken(
        _ grant: TokenGrant, owner: TokenOwner, version: Int, keyring: EncryptionKeyring, _ db: Database,
        lastRefreshAt: Date? = nil
    ) throws {
        let access = try keyring.seal(grant.accessToken.revealed, context: "\(owner)/access")
        let refresh = try grant.refreshToken.map { try keyring.seal($0.revealed, context: "\(owner)/refresh") }
        try db.execute(
            sql: """
                INSERT INTO tokens (kind, owner_id, access_token, refresh_token, key_id, scopes, expires_at, version,
                    origin, obtained_at, last_refresh_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                owner.kind, owner.id, access, refresh, keyring.current.id, grant.scopes.joined(separator: " "),
                grant.expiresAt.timeIntervalSince1970, version, grant.origin.rawValue, Date().timeIntervalSince1970,
                lastRefreshAt?.timeIntervalSince1970,
            ])
    }

    private static let recordSelect = """
        SELECT t.*, i.company_id AS company_id FROM tokens t
        JOIN installations i ON i.kind = t.kind AND i.owner_id = t.owner_id
        """

    private static func record(_ owner: TokenOwner, _ db: Database) throws -> TokenRecord? {
        try Row.fetchOne(
            db, sql: recordSelect + " WHERE t.kind = ? AND t.owner_id = ?", arguments: [owner.kind, owner.id]
        ).map(record(from:))
    }

    private static func record(from row: Row) -> TokenRecord {
        let refresh: Data? = row["refresh_token"]
        return TokenRecord(
            owner: TokenOwner(kind: row["kind"], id: row["owner_id"])!,
            companyId: row["company_id"],
            scopes: words(row["scopes"]),
            expiresAt: date(row["expires_at"])!,
            version: row["version"],
            origin: TokenOrigin(rawValue: row["origin"]) ?? .code,
            obtainedAt: date(row["obtained_at"])!,
            hasRefreshToken: refresh != nil,
            lastRefreshAt: date(row["last_refresh_at"]),
            refreshStartedAt: date(row["refresh_started_at"]),
            lastError: row["last_error"],
            consecutiveFailures: row["consecutive_failures"],
            nextAttemptAt: date(row["next_attempt_at"]),
            state: TokenState(rawValue: row["state"]) ?? .active)
    }

    private static func installation(from row: Row) -> Installation {
        Installation(
            owner: TokenOwner(kind: row["kind"], id: row["owner_id"])!,
            companyId: row["company_id"],
            grantedScopes: words(row["granted_scopes"]),
            isBulk: row["is_bulk"],
            planId: row["plan_id"],
            userId: row["user_id"],
            source: Installation.Source(rawValue: row["source"]) ?? .install,
            status: Installation.Status(rawValue: row["status"]) ?? .installed,
            installedAt: date(row["installed_at"])!,
            uninstalledAt: date(row["uninstalled_at"]))
    }

    private static func words(_ text: String?) -> [String] {
        (text ?? "").split(separator: " ").map(String.init)
    }

    private static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSince1970:))
    }
}
