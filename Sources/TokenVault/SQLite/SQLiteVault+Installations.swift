import Foundation
import GRDB

/// Installations: who installed the app (a company, or one location), how the gateway learnt of
/// it, and its state.
extension SQLiteVault {
    package func installation(_ owner: TokenOwner) async throws(VaultError) -> Installation? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM installations WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id]
            ).map { $0.installation() }
        }
    }

    package func installations() async throws(VaultError) -> [Installation] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM installations ORDER BY kind, owner_id").map { $0.installation() }
        }
    }

    package func linkLocations(
        _ locationIds: [String], toCompany companyId: String, source: Installation.Source, at date: Date
    ) async throws(VaultError) {
        let now = date.timeIntervalSince1970
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

    static func recordAnnouncedInstall(
        _ owner: TokenOwner, companyId: String?, planId: String?, at date: Date, _ db: Database
    ) throws {
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

    package func locationsDerived(fromCompany companyId: String) async throws(VaultError) -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT owner_id FROM installations WHERE kind = 'location' AND company_id = ? AND source != 'install' AND status != 'uninstalled'",
                arguments: [companyId])
        }
    }

    package func uninstall(_ owner: TokenOwner, at date: Date) async throws(VaultError) {
        try await write { db in try Self.uninstall(owner, at: date, db) }
    }

    static func uninstall(_ owner: TokenOwner, at date: Date, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
        try db.execute(
            sql: "UPDATE installations SET status = 'uninstalled', uninstalled_at = ? WHERE kind = ? AND owner_id = ?",
            arguments: [date.timeIntervalSince1970, owner.kind, owner.id])
    }
}
