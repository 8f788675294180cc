import Foundation
import GRDB

/// Rows to values and back, for the vault's own queries.
extension SQLiteVault {
    static func upsert(_ installation: Installation, _ db: Database) throws {
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

    static func installationExists(_ owner: TokenOwner, _ db: Database) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT 1 FROM installations WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id]) ?? false
    }

    static func insertToken(
        _ grant: TokenGrant, owner: TokenOwner, version: Int, keyring: EncryptionKeyring, _ db: Database,
        lastRefreshAt: Date? = nil
    ) throws {
        let access = try keyring.seal(grant.accessToken.revealed, context: SealContext.access(owner))
        let refresh = try grant.refreshToken.map { try keyring.seal($0.revealed, context: SealContext.refresh(owner)) }
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

    static func record(_ owner: TokenOwner, _ db: Database) throws -> TokenRecord? {
        try Row.fetchOne(
            db, sql: VaultQueries.tokenRecords + " WHERE t.kind = ? AND t.owner_id = ?", arguments: [owner.kind, owner.id]
        ).map { $0.tokenRecord() }
    }

    /// `KeyCheck.verify` over the file's key checks and sealed key ids: the check value to store
    /// for the current key, if it has none.
    static func verifyKeys(_ keyring: EncryptionKeyring, _ db: Database) throws -> Data? {
        let checks = try Row.fetchAll(db, sql: VaultQueries.keyChecks).map {
            (keyId: $0["key_id"] as String, value: $0["check_value"] as Data)
        }
        return try KeyCheck.verify(checks: checks, sealedKeyIds: String.fetchAll(db, sql: VaultQueries.sealedKeyIds), keyring: keyring)
    }
}

extension Row: VaultRow {
    func text(_ column: String) -> String? { self[column] }
    func real(_ column: String) -> Double? { self[column] }
    func integer(_ column: String) -> Int? { self[column] }
    func blob(_ column: String) -> Data? { self[column] }
}
