import Foundation
import PostgresNIO

/// Installations: who installed the app, how the gateway learnt of it, and its state. Every
/// change is announced to the other replicas.
extension PostgresVault {
    package func installation(_ owner: TokenOwner) async throws(VaultError) -> Installation? {
        try await read { connection in
            try await Self.rows(
                connection.query(
                    "SELECT * FROM installations WHERE kind = \(owner.kind) AND owner_id = \(owner.id)", logger: logger)
            ).first?.installation()
        }
    }

    package func installations() async throws(VaultError) -> [Installation] {
        try await read { connection in
            try await Self.rows(connection.query("SELECT * FROM installations ORDER BY kind, owner_id", logger: logger)).map { $0.installation() }
        }
    }

    package func linkLocations(
        _ locationIds: [String], toCompany companyId: String, source: Installation.Source, at date: Date
    ) async throws(VaultError) {
        let now = date.timeIntervalSince1970
        try await transaction { connection in
            for locationId in locationIds {
                try await connection.query(
                    """
                    INSERT INTO installations AS i (kind, owner_id, company_id, source, status, installed_at)
                    VALUES ('location', \(locationId), \(companyId), \(source.rawValue), 'installed', \(now))
                    ON CONFLICT (kind, owner_id) DO UPDATE SET
                        company_id = COALESCE(i.company_id, excluded.company_id),
                        status = CASE WHEN i.status = 'uninstalled' THEN 'installed' ELSE i.status END,
                        uninstalled_at = CASE WHEN i.status = 'uninstalled' THEN NULL ELSE i.uninstalled_at END
                    """, logger: logger)
                try await announce(.location(locationId), on: connection)
            }
        }
    }

    func recordAnnouncedInstall(
        _ owner: TokenOwner, companyId: String?, planId: String?, at date: Date, on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO installations AS i (kind, owner_id, company_id, plan_id, source, status, installed_at)
            VALUES (\(owner.kind), \(owner.id), \(companyId), \(planId), 'webhook', 'installed', \(date.timeIntervalSince1970))
            ON CONFLICT (kind, owner_id) DO UPDATE SET
                company_id = COALESCE(i.company_id, excluded.company_id),
                plan_id = COALESCE(excluded.plan_id, i.plan_id),
                status = CASE WHEN i.status = 'uninstalled' THEN 'installed' ELSE i.status END,
                uninstalled_at = CASE WHEN i.status = 'uninstalled' THEN NULL ELSE i.uninstalled_at END
            """, logger: logger)
        try await announce(owner, on: connection)
    }

    package func locationsDerived(fromCompany companyId: String) async throws(VaultError) -> [String] {
        try await read { connection in
            try await Self.rows(
                connection.query(
                    """
                    SELECT owner_id FROM installations
                    WHERE kind = 'location' AND company_id = \(companyId) AND source != 'install' AND status != 'uninstalled'
                    ORDER BY owner_id
                    """, logger: logger)
            ).compactMap { $0.text("owner_id") }
        }
    }

    package func uninstall(_ owner: TokenOwner, at date: Date) async throws(VaultError) {
        try await transaction { connection in try await uninstall(owner, at: date, on: connection) }
    }

    func uninstall(_ owner: TokenOwner, at date: Date, on connection: PostgresConnection) async throws {
        try await connection.query("DELETE FROM tokens WHERE kind = \(owner.kind) AND owner_id = \(owner.id)", logger: logger)
        try await connection.query(
            """
            UPDATE installations SET status = 'uninstalled', uninstalled_at = \(date.timeIntervalSince1970)
            WHERE kind = \(owner.kind) AND owner_id = \(owner.id)
            """, logger: logger)
        try await announce(owner, on: connection)
    }

    /// Inserts or updates an installation from a code exchange.
    func upsert(_ installation: Installation, on connection: PostgresConnection) async throws {
        let owner = installation.owner
        try await connection.query(
            """
            INSERT INTO installations AS i (kind, owner_id, company_id, granted_scopes, is_bulk, plan_id, user_id, source,
                status, installed_at, uninstalled_at)
            VALUES (\(owner.kind), \(owner.id), \(installation.companyId), \(installation.grantedScopes.joined(separator: " ")),
                \(installation.isBulk ? 1 : 0), \(installation.planId), \(installation.userId), \(installation.source.rawValue),
                \(installation.status.rawValue), \(installation.installedAt.timeIntervalSince1970),
                \(installation.uninstalledAt?.timeIntervalSince1970))
            ON CONFLICT (kind, owner_id) DO UPDATE SET
                company_id = COALESCE(excluded.company_id, i.company_id),
                granted_scopes = excluded.granted_scopes, is_bulk = excluded.is_bulk,
                plan_id = COALESCE(excluded.plan_id, i.plan_id), user_id = COALESCE(excluded.user_id, i.user_id),
                source = excluded.source, status = excluded.status, uninstalled_at = excluded.uninstalled_at
            """, logger: logger)
    }
}
