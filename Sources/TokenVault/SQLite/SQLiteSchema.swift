import GRDB

/// The SQLite vault's schema, migrated forward from version 1. A migration is never edited once shipped.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE installations (
                        kind TEXT NOT NULL CHECK (kind IN ('company', 'location')),
                        owner_id TEXT NOT NULL,
                        company_id TEXT,
                        granted_scopes TEXT NOT NULL DEFAULT '',
                        is_bulk INTEGER NOT NULL DEFAULT 0,
                        plan_id TEXT,
                        user_id TEXT,
                        source TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'installed'
                            CHECK (status IN ('installed', 'needs_reinstall', 'uninstalled')),
                        installed_at REAL NOT NULL,
                        uninstalled_at REAL,
                        PRIMARY KEY (kind, owner_id)
                    );
                    CREATE INDEX installations_company ON installations (company_id);

                    CREATE TABLE tokens (
                        kind TEXT NOT NULL,
                        owner_id TEXT NOT NULL,
                        access_token BLOB NOT NULL,
                        refresh_token BLOB,
                        key_id TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        expires_at REAL NOT NULL,
                        version INTEGER NOT NULL,
                        origin TEXT NOT NULL CHECK (origin IN ('code', 'refresh', 'exchange')),
                        obtained_at REAL NOT NULL,
                        last_refresh_at REAL,
                        refresh_started_at REAL,
                        last_error TEXT,
                        consecutive_failures INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL,
                        state TEXT NOT NULL DEFAULT 'active'
                            CHECK (state IN ('active', 'refresh_failing', 'needs_reinstall')),
                        PRIMARY KEY (kind, owner_id),
                        FOREIGN KEY (kind, owner_id) REFERENCES installations (kind, owner_id) ON DELETE CASCADE
                    );
                    CREATE INDEX tokens_expiry ON tokens (expires_at);

                    CREATE TABLE oauth_states (
                        state_hash TEXT PRIMARY KEY NOT NULL,
                        expires_at REAL NOT NULL
                    );

                    CREATE TABLE vault_keys (
                        key_id TEXT PRIMARY KEY NOT NULL,
                        check_value BLOB NOT NULL,
                        added_at REAL NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2-webhooks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE webhook_events (
                        webhook_id TEXT PRIMARY KEY NOT NULL,
                        type TEXT NOT NULL,
                        scopes TEXT NOT NULL DEFAULT '',
                        location_id TEXT,
                        company_id TEXT,
                        payload BLOB,
                        key_id TEXT,
                        received_at REAL NOT NULL
                    );
                    CREATE INDEX webhook_events_received ON webhook_events (received_at);
                    """)
        }
        migrator.registerMigration("v3-authorization-codes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE oauth_codes (
                        code_hash TEXT PRIMARY KEY NOT NULL,
                        claimed_at REAL NOT NULL
                    );
                    CREATE INDEX oauth_codes_claimed ON oauth_codes (claimed_at);
                    """)
        }
        migrator.registerMigration("v4-webhook-deliveries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE webhook_deliveries (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        webhook_id TEXT NOT NULL REFERENCES webhook_events (webhook_id) ON DELETE CASCADE,
                        client TEXT NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        last_status INTEGER,
                        last_error TEXT,
                        created_at REAL NOT NULL,
                        delivered_at REAL,
                        UNIQUE (webhook_id, client)
                    );
                    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
                    """)
        }
        migrator.registerMigration("v5-renewal-leases") { db in
            try db.execute(
                sql: """
                    CREATE TABLE renewal_leases (
                        kind TEXT NOT NULL,
                        owner_id TEXT NOT NULL,
                        holder TEXT NOT NULL,
                        expires_at REAL NOT NULL,
                        PRIMARY KEY (kind, owner_id)
                    );
                    """)
        }
        migrator.registerMigration("v6-replicas") { db in
            try db.execute(sql: "CREATE TABLE replicas (id TEXT PRIMARY KEY NOT NULL, last_seen REAL NOT NULL)")
        }
        migrator.registerMigration("v7-replica-identity") { db in
            try db.execute(sql: "ALTER TABLE replicas ADD COLUMN incarnation TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v8-webhook-follow-ups") { db in
            try db.execute(sql: "ALTER TABLE webhook_events ADD COLUMN follow_up TEXT")
        }
        migrator.registerMigration("v9-webhook-trace") { db in
            try db.execute(sql: "ALTER TABLE webhook_events ADD COLUMN trace_parent TEXT")
        }
        migrator.registerMigration("v10-audit") { db in
            try db.execute(sql: VaultQueries.createAuditLog(id: "INTEGER PRIMARY KEY AUTOINCREMENT", real: "REAL"))
            try db.execute(sql: "CREATE INDEX audit_log_at ON audit_log (at)")
        }
        migrator.registerMigration("v11-audit-blocks") { db in
            try db.execute(sql: VaultQueries.createAuditBlocks(integer: "INTEGER", real: "REAL", bytes: "BLOB"))
            try db.execute(sql: "CREATE INDEX audit_blocks_latest ON audit_blocks (latest)")
        }
        return migrator
    }
}
