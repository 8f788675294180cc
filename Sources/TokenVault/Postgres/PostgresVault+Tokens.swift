import Foundation
import PostgresNIO

/// Tokens: sealed pairs stored with their installation, compare-and-swap on the version, the
/// durable marks of a refresh in progress and of failures, and the renewal leases that keep a
/// refresh or exchange single-flight across replicas.
extension PostgresVault {
    @discardableResult
    package func install(_ installs: [(Installation, TokenGrant)]) async throws(VaultError) -> [TokenRecord] {
        try await transaction { connection in
            var records: [TokenRecord] = []
            for (installation, grant) in installs {
                try await upsert(installation, on: connection)
                let owner = installation.owner
                let removed = try await Self.rows(
                    connection.query(
                        "DELETE FROM tokens WHERE kind = \(owner.kind) AND owner_id = \(owner.id) RETURNING version", logger: logger))
                try await insertToken(grant, owner: owner, version: (removed.first?.integer("version") ?? 0) + 1, on: connection)
                records.append(try await record(owner, on: connection))
                try await announce(owner, on: connection)
            }
            return records
        }
    }

    @discardableResult
    package func store(_ grant: TokenGrant, for owner: TokenOwner, replacing expected: Int?) async throws(VaultError) -> TokenRecord {
        try await transaction { connection in
            // The row lock serialises writers of one token; the version check is the compare-and-swap.
            let current = try await Self.rows(
                connection.query(
                    "SELECT version FROM tokens WHERE kind = \(owner.kind) AND owner_id = \(owner.id) FOR UPDATE", logger: logger)
            ).first?.integer("version")
            guard current == expected else {
                throw VaultError.versionConflict(owner: owner.description, expected: expected ?? 0)
            }
            let installed = try await Self.rows(
                connection.query(
                    "SELECT 1 AS found FROM installations WHERE kind = \(owner.kind) AND owner_id = \(owner.id) FOR SHARE", logger: logger))
            guard !installed.isEmpty else { throw VaultError.notFound("installation \(owner)") }
            try await connection.query("DELETE FROM tokens WHERE kind = \(owner.kind) AND owner_id = \(owner.id)", logger: logger)
            try await insertToken(
                grant, owner: owner, version: (expected ?? 0) + 1, on: connection, lastRefreshAt: Date())
            let record = try await record(owner, on: connection)
            try await announce(owner, on: connection)
            return record
        }
    }

    @discardableResult
    package func noteInterruptedRefreshes(now: Date) async throws(VaultError) -> [TokenOwner] {
        try await transaction { connection in
            let rows = try await Self.rows(
                connection.query(
                    """
                    SELECT kind, owner_id, refresh_started_at FROM tokens t
                    WHERE refresh_started_at IS NOT NULL AND NOT EXISTS (
                        SELECT 1 FROM renewal_leases l WHERE l.kind = t.kind AND l.owner_id = t.owner_id AND l.expires_at > \(now.timeIntervalSince1970))
                    FOR UPDATE
                    """, logger: logger))
            var owners: [TokenOwner] = []
            for row in rows {
                guard let owner = TokenOwner(kind: row.text("kind") ?? "", id: row.text("owner_id") ?? "") else { continue }
                let message = KeyCheck.interruptedRefresh(startedAt: row.date("refresh_started_at") ?? now)
                try await connection.query(
                    """
                    UPDATE tokens SET state = 'refresh_failing', last_error = \(message)
                    WHERE kind = \(owner.kind) AND owner_id = \(owner.id)
                    """, logger: logger)
                owners.append(owner)
            }
            return owners
        }
    }

    package func markRefreshStarted(_ owner: TokenOwner, version: Int, at date: Date) async throws(VaultError) {
        try await transaction { connection in
            let updated = try await Self.rows(
                connection.query(
                    """
                    UPDATE tokens SET refresh_started_at = \(date.timeIntervalSince1970)
                    WHERE kind = \(owner.kind) AND owner_id = \(owner.id) AND version = \(version) RETURNING version
                    """, logger: logger))
            if updated.isEmpty { throw VaultError.versionConflict(owner: owner.description, expected: version) }
        }
    }

    package func recordFailure(
        _ owner: TokenOwner, version: Int, error message: String, needsReinstall: Bool, nextAttemptAt: Date?,
        refreshOutcomeUnknown: Bool
    ) async throws(VaultError) {
        let state = (needsReinstall ? TokenState.needsReinstall : .refreshFailing).rawValue
        try await transaction { connection in
            let updated = try await Self.rows(
                connection.query(
                    """
                    UPDATE tokens SET last_error = \(message), consecutive_failures = consecutive_failures + 1,
                        next_attempt_at = \(nextAttemptAt?.timeIntervalSince1970), state = \(state),
                        refresh_started_at = CASE WHEN \(refreshOutcomeUnknown) THEN refresh_started_at END
                    WHERE kind = \(owner.kind) AND owner_id = \(owner.id) AND version = \(version) RETURNING version
                    """, logger: logger))
            if updated.isEmpty { throw VaultError.versionConflict(owner: owner.description, expected: version) }
            if needsReinstall {
                try await connection.query(
                    "UPDATE installations SET status = 'needs_reinstall' WHERE kind = \(owner.kind) AND owner_id = \(owner.id)",
                    logger: logger)
                try await announce(owner, on: connection)
            }
        }
    }

    package func token(for owner: TokenOwner) async throws(VaultError) -> StoredToken? {
        let keyring = self.keyring
        let row = try await read { connection in
            try await Self.rows(connection.query(Self.recordQuery(owner), logger: logger)).first
        }
        return try row?.storedToken(keyring: keyring)
    }

    package func tokenRecords() async throws(VaultError) -> [TokenRecord] {
        try await read { connection in
            try await Self.rows(
                connection.query(PostgresQuery(unsafeSQL: VaultQueries.tokenRecords + " ORDER BY t.kind, t.owner_id"), logger: logger)
            )
            .map { $0.tokenRecord() }
        }
    }

    package func tokenRecords(expiringBefore date: Date) async throws(VaultError) -> [TokenRecord] {
        var binds = PostgresBindings()
        binds.append(date.timeIntervalSince1970)
        let query = PostgresQuery(unsafeSQL: VaultQueries.tokenRecords + " WHERE t.expires_at < $1 ORDER BY t.expires_at", binds: binds)
        return try await read { connection in
            try await Self.rows(connection.query(query, logger: logger)).map { $0.tokenRecord() }
        }
    }

    package func acquireRenewalLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) async throws(VaultError) -> Bool {
        try await transaction { connection in
            try await !Self.rows(
                connection.query(
                    """
                    INSERT INTO renewal_leases AS l (kind, owner_id, holder, expires_at)
                    VALUES (\(owner.kind), \(owner.id), \(holder), \(until.timeIntervalSince1970))
                    ON CONFLICT (kind, owner_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                    WHERE l.holder = excluded.holder OR l.expires_at <= \(now.timeIntervalSince1970)
                    RETURNING holder
                    """, logger: logger)
            ).isEmpty
        }
    }

    package func releaseRenewalLease(_ owner: TokenOwner, holder: String) async throws(VaultError) {
        try await transaction { connection in
            try await connection.query(
                "DELETE FROM renewal_leases WHERE kind = \(owner.kind) AND owner_id = \(owner.id) AND holder = \(holder)", logger: logger)
        }
    }

    package func heartbeat(replica: ReplicaIdentity, now: Date, staleBefore: Date) async throws(VaultError) -> Int {
        try await transaction { connection in
            try await connection.query("DELETE FROM replicas WHERE last_seen < \(staleBefore.timeIntervalSince1970)", logger: logger)
            try await beat(replica, now: now, on: connection)
            return try await Self.rows(connection.query("SELECT COUNT(*) AS n FROM replicas", logger: logger)).first?.integer("n") ?? 1
        }
    }

    package func replicaStarted(_ replica: ReplicaIdentity, now: Date) async throws(VaultError) -> (leases: Int, claims: Int) {
        try await transaction { connection in
            let prefix = replica.name + "@"
            let held = try await Self.rows(
                connection.query(
                    "SELECT DISTINCT holder FROM renewal_leases WHERE starts_with(holder, \(prefix))", logger: logger))
            let gone = held.compactMap { $0.text("holder") }.filter(replica.succeeds)
            if !gone.isEmpty {
                try await connection.query("DELETE FROM renewal_leases WHERE holder = ANY(\(gone))", logger: logger)
            }
            // A delivery is at least once: an earlier incarnation's claims go back whatever became of it.
            let claims = try await Self.rows(
                connection.query(
                    """
                    UPDATE webhook_deliveries SET claimed_until = NULL, claimed_by = NULL
                    WHERE starts_with(claimed_by, \(prefix)) AND claimed_by <> \(replica.holder) RETURNING id
                    """, logger: logger)
            ).count
            try await beat(replica, now: now, on: connection)
            return (gone.count, claims)
        }
    }

    private func beat(_ replica: ReplicaIdentity, now: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO replicas (id, incarnation, last_seen) VALUES (\(replica.name), \(replica.incarnation), \(now.timeIntervalSince1970))
            ON CONFLICT (id) DO UPDATE SET incarnation = excluded.incarnation, last_seen = excluded.last_seen
            """, logger: logger)
    }

    private func insertToken(
        _ grant: TokenGrant, owner: TokenOwner, version: Int, on connection: PostgresConnection, lastRefreshAt: Date? = nil
    ) async throws {
        let access = try keyring.seal(grant.accessToken.revealed, context: SealContext.access(owner))
        let refresh = try grant.refreshToken.map { try keyring.seal($0.revealed, context: SealContext.refresh(owner)) }
        try await connection.query(
            """
            INSERT INTO tokens (kind, owner_id, access_token, refresh_token, key_id, scopes, expires_at, version,
                origin, obtained_at, last_refresh_at)
            VALUES (\(owner.kind), \(owner.id), \(access), \(refresh), \(keyring.current.id), \(grant.scopes.joined(separator: " ")),
                \(grant.expiresAt.timeIntervalSince1970), \(version), \(grant.origin.rawValue), \(Date().timeIntervalSince1970),
                \(lastRefreshAt?.timeIntervalSince1970))
            """, logger: logger)
    }

    private func record(_ owner: TokenOwner, on connection: PostgresConnection) async throws -> TokenRecord {
        let rows = try await Self.rows(connection.query(Self.recordQuery(owner), logger: logger))
        guard let row = rows.first else { throw VaultError.notFound("token of \(owner)") }
        return row.tokenRecord()
    }

    /// The owner's token row with its installation's company.
    private static func recordQuery(_ owner: TokenOwner) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(owner.kind)
        binds.append(owner.id)
        return PostgresQuery(unsafeSQL: VaultQueries.tokenRecords + " WHERE t.kind = $1 AND t.owner_id = $2", binds: binds)
    }
}
