import Foundation
import PostgresNIO

/// The PostgreSQL vault's schema: numbered migrations, applied at start under an advisory lock
/// (replicas started together migrate once; the others wait, then find nothing to do). A
/// migration is never edited once shipped. A database migrated by a newer gateway is refused:
/// an older replica must not write rows it does not understand.
enum PostgresSchema {
    /// `pg_advisory_lock` key: "ghlg" in ASCII.
    static let lockKey: Int64 = 0x6768_6C67

    static let migrations: [(name: String, sql: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE installations (
                    kind TEXT NOT NULL CHECK (kind IN ('company', 'location')),
                    owner_id TEXT NOT NULL,
                    company_id TEXT,
                    granted_scopes TEXT NOT NULL DEFAULT '',
                    is_bulk BIGINT NOT NULL DEFAULT 0,
                    plan_id TEXT,
                    user_id TEXT,
                    source TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'installed' CHECK (status IN ('installed', 'needs_reinstall', 'uninstalled')),
                    installed_at DOUBLE PRECISION NOT NULL,
                    uninstalled_at DOUBLE PRECISION,
                    PRIMARY KEY (kind, owner_id)
                )
                """,
                "CREATE INDEX installations_company ON installations (company_id)",
                """
                CREATE TABLE tokens (
                    kind TEXT NOT NULL,
                    owner_id TEXT NOT NULL,
                    access_token BYTEA NOT NULL,
                    refresh_token BYTEA,
                    key_id TEXT NOT NULL,
                    scopes TEXT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    version BIGINT NOT NULL,
                    origin TEXT NOT NULL CHECK (origin IN ('code', 'refresh', 'exchange')),
                    obtained_at DOUBLE PRECISION NOT NULL,
                    last_refresh_at DOUBLE PRECISION,
                    refresh_started_at DOUBLE PRECISION,
                    last_error TEXT,
                    consecutive_failures BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at DOUBLE PRECISION,
                    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'refresh_failing', 'needs_reinstall')),
                    PRIMARY KEY (kind, owner_id),
                    FOREIGN KEY (kind, owner_id) REFERENCES installations (kind, owner_id) ON DELETE CASCADE
                )
                """,
                "CREATE INDEX tokens_expiry ON tokens (expires_at)",
                "CREATE TABLE oauth_states (state_hash TEXT PRIMARY KEY, expires_at DOUBLE PRECISION NOT NULL)",
                "CREATE TABLE oauth_codes (code_hash TEXT PRIMARY KEY, claimed_at DOUBLE PRECISION NOT NULL)",
                "CREATE INDEX oauth_codes_claimed ON oauth_codes (claimed_at)",
                "CREATE TABLE vault_keys (key_id TEXT PRIMARY KEY, check_value BYTEA NOT NULL, added_at DOUBLE PRECISION NOT NULL)",
                """
                CREATE TABLE webhook_events (
                    webhook_id TEXT PRIMARY KEY,
                    type TEXT NOT NULL,
                    scopes TEXT NOT NULL DEFAULT '',
                    location_id TEXT,
                    company_id TEXT,
                    payload BYTEA,
                    key_id TEXT,
                    received_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX webhook_events_received ON webhook_events (received_at)",
                """
                CREATE TABLE webhook_deliveries (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    webhook_id TEXT NOT NULL REFERENCES webhook_events (webhook_id) ON DELETE CASCADE,
                    client TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at DOUBLE PRECISION NOT NULL,
                    last_status BIGINT,
                    last_error TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    delivered_at DOUBLE PRECISION,
                    claimed_until DOUBLE PRECISION,
                    UNIQUE (webhook_id, client)
                )
                """,
                "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
                """
                CREATE TABLE renewal_leases (
                    kind TEXT NOT NULL,
                    owner_id TEXT NOT NULL,
                    holder TEXT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (kind, owner_id)
                )
                """,
            ]
        ),
        ("v2-replicas", ["CREATE TABLE replicas (id TEXT PRIMARY KEY, last_seen DOUBLE PRECISION NOT NULL)"]),
        (
            "v3-replica-identity",
            [
                "ALTER TABLE replicas ADD COLUMN incarnation TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT",
            ]
        ),
        ("v4-webhook-follow-ups", ["ALTER TABLE webhook_events ADD COLUMN follow_up TEXT"]),
        ("v5-webhook-trace", ["ALTER TABLE webhook_events ADD COLUMN trace_parent TEXT"]),
        (
            "v6-audit",
            [
                VaultQueries.createAuditLog(id: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", real: "DOUBLE PRECISION"),
                "CREATE INDEX audit_log_at ON audit_log (at)",
            ]
        ),
        (
            "v7-audit-blocks",
            [
                VaultQueries.createAuditBlocks(integer: "BIGINT", real: "DOUBLE PRECISION", bytes: "BYTEA"),
                "CREATE INDEX audit_blocks_latest ON audit_blocks (latest)",
            ]
        ),
    ]

    /// How long opening may take to migrate, waiting for other replicas' migrations included.
    static let migrationTimeout: Duration = .seconds(60)

    static func migrate(_ vault: PostgresVault) async throws(VaultError) {
        let logger = vault.logger
        let lockKey = Self.lockKey
        let known = migrations.count
        // Replicas starting together wait here for each other's migrations: longer than one operation.
        let applied: Int = try await vault.read(within: migrationTimeout) { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            do {
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS ghl_gateway_schema (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)",
                    logger: logger)
                let current =
                    try await PostgresVault.rows(
                        connection.query("SELECT COALESCE(MAX(version), 0) AS version FROM ghl_gateway_schema", logger: logger)
                    ).first?.integer("version") ?? 0
                guard current <= known else {
                    throw VaultError.database(
                        "the database schema is version \(current), newer than this gateway's \(known): "
                            + "it was migrated by a newer release; run that release (or newer) on every replica")
                }
                for (index, migration) in migrations.enumerated() where index + 1 > current {
                    try await connection.withTransaction(logger: logger) { transaction in
                        for statement in migration.sql {
                            try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await transaction.query(
                            "INSERT INTO ghl_gateway_schema (version, name, applied_at) VALUES (\(index + 1), \(migration.name), \(Date().timeIntervalSince1970))",
                            logger: logger)
                    }
                }
                try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                return known - current
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
        }
        if applied > 0 {
            logger.notice("database migrated", metadata: ["database": "\(vault.location)", "migrations": "\(applied)"])
        }
    }
}
