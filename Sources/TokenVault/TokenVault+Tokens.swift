import Foundation
import GRDB

/// Tokens: sealed pairs stored with their installation, compare-and-swap on the version, the
/// durable marks of a refresh in progress and of failures.
extension TokenVault {
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
}
