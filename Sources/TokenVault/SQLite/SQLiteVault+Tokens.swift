import Foundation
import GRDB

/// Tokens: sealed pairs stored with their installation, compare-and-swap on the version, the
/// durable marks of a refresh in progress and of failures.
extension SQLiteVault {
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
                lastRefreshAt: Date())
            return try Self.record(owner, db)!
        }
    }

    @discardableResult
    package func noteInterruptedRefreshes(now: Date) async throws(VaultError) -> [TokenOwner] {
        try await write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT kind, owner_id, refresh_started_at FROM tokens t
                    WHERE refresh_started_at IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM renewal_leases l WHERE l.kind = t.kind AND l.owner_id = t.owner_id AND l.expires_at > ?)
                    """, arguments: [now.timeIntervalSince1970])
            for row in rows {
                try db.execute(
                    sql: """
                        UPDATE tokens SET state = 'refresh_failing', last_error = ?
                        WHERE kind = ? AND owner_id = ?
                        """,
                    arguments: [
                        KeyCheck.interruptedRefresh(startedAt: Date(timeIntervalSince1970: row["refresh_started_at"])),
                        row["kind"], row["owner_id"],
                    ])
            }
            return rows.compactMap { TokenOwner(kind: $0["kind"], id: $0["owner_id"]) }
        }
    }

    package func markRefreshStarted(_ owner: TokenOwner, version: Int, at date: Date) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE tokens SET refresh_started_at = ? WHERE kind = ? AND owner_id = ? AND version = ?",
                arguments: [date.timeIntervalSince1970, owner.kind, owner.id, version])
            if db.changesCount == 0 { throw VaultError.versionConflict(owner: owner.description, expected: version) }
        }
    }

    package func recordFailure(
        _ owner: TokenOwner, version: Int, error message: String, needsReinstall: Bool, nextAttemptAt: Date?,
        refreshOutcomeUnknown: Bool
    ) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE tokens SET last_error = ?, consecutive_failures = consecutive_failures + 1,
                        next_attempt_at = ?, state = ?, refresh_started_at = CASE WHEN ? THEN refresh_started_at END
                    WHERE kind = ? AND owner_id = ? AND version = ?
                    """,
                arguments: [
                    message, nextAttemptAt?.timeIntervalSince1970,
                    (needsReinstall ? TokenState.needsReinstall : .refreshFailing).rawValue, refreshOutcomeUnknown,
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

    package func token(for owner: TokenOwner) async throws(VaultError) -> StoredToken? {
        let keyring = self.keyring
        return try await read { db in
            try Row.fetchOne(
                db, sql: VaultQueries.tokenRecords + " WHERE t.kind = ? AND t.owner_id = ?", arguments: [owner.kind, owner.id]
            )?.storedToken(keyring: keyring)
        }
    }

    package func tokenRecords() async throws(VaultError) -> [TokenRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: VaultQueries.tokenRecords + " ORDER BY t.kind, t.owner_id").map { $0.tokenRecord() }
        }
    }

    /// By the `tokens_expiry` index.
    package func tokenRecords(expiringBefore date: Date) async throws(VaultError) -> [TokenRecord] {
        try await read { db in
            try Row.fetchAll(
                db, sql: VaultQueries.tokenRecords + " WHERE t.expires_at < ? ORDER BY t.expires_at", arguments: [date.timeIntervalSince1970]
            ).map { $0.tokenRecord() }
        }
    }
}

/// Renewal leases: one row per owner being renewed, taken with a conditional upsert.
extension SQLiteVault {
    package func acquireRenewalLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) async throws(VaultError) -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO renewal_leases (kind, owner_id, holder, expires_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (kind, owner_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                    WHERE renewal_leases.holder = excluded.holder OR renewal_leases.expires_at <= ?
                    """,
                arguments: [owner.kind, owner.id, holder, until.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    package func releaseRenewalLease(_ owner: TokenOwner, holder: String) async throws(VaultError) {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM renewal_leases WHERE kind = ? AND owner_id = ? AND holder = ?",
                arguments: [owner.kind, owner.id, holder])
        }
    }
}

/// Live replicas: one process serves a SQLite file, but the table keeps both stores alike.
extension SQLiteVault {
    package func heartbeat(replica: ReplicaIdentity, now: Date, staleBefore: Date) async throws(VaultError) -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM replicas WHERE last_seen < ?", arguments: [staleBefore.timeIntervalSince1970])
            try Self.beat(replica, now: now, db)
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM replicas") ?? 1
        }
    }

    /// Leases only: one process serves a file, so no delivery is ever claimed by another.
    package func replicaStarted(_ replica: ReplicaIdentity, now: Date) async throws(VaultError) -> (leases: Int, claims: Int) {
        try await write { db in
            let gone = try String.fetchAll(db, sql: "SELECT DISTINCT holder FROM renewal_leases").filter(replica.succeeds)
            for holder in gone {
                try db.execute(sql: "DELETE FROM renewal_leases WHERE holder = ?", arguments: [holder])
            }
            try Self.beat(replica, now: now, db)
            return (gone.count, 0)
        }
    }

    private static func beat(_ replica: ReplicaIdentity, now: Date, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO replicas (id, incarnation, last_seen) VALUES (?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation, last_seen = excluded.last_seen
                """,
            arguments: [replica.name, replica.incarnation, now.timeIntervalSince1970])
    }
}
