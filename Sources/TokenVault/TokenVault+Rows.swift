import Foundation
import GRDB

/// Rows to values and back, for the vault's own queries.
extension TokenVault {
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

    static let recordSelect = """
        SELECT t.*, i.company_id AS company_id FROM tokens t
        JOIN installations i ON i.kind = t.kind AND i.owner_id = t.owner_id
        """

    static func record(_ owner: TokenOwner, _ db: Database) throws -> TokenRecord? {
        try Row.fetchOne(
            db, sql: recordSelect + " WHERE t.kind = ? AND t.owner_id = ?", arguments: [owner.kind, owner.id]
        ).map(record(from:))
    }

    static func record(from row: Row) -> TokenRecord {
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

    static func installation(from row: Row) -> Installation {
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

    static func words(_ text: String?) -> [String] {
        (text ?? "").split(separator: " ").map(String.init)
    }

    static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSince1970:))
    }
}
