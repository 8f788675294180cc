import Foundation
import TokenVault

/// Tokens and installations side by side, with a status an operator can act on; no secret.
package struct TokenInventory: Sendable {
    package struct Row: Sendable, Equatable {
        package var kind: String
        package var companyId: String?
        package var locationId: String?
        package var scopes: [String]
        package var expiresAt: Date?
        package var status: String
    }

    let vault: any InstallationStore

    package init(vault: any InstallationStore) {
        self.vault = vault
    }

    package func rows(now: Date = Date(), expiringWithin window: TimeInterval = 3_600) async throws(VaultError) -> [Row] {
        let records = Dictionary(uniqueKeysWithValues: try await vault.tokenRecords().map { ($0.owner, $0) })
        return try await vault.installations().map { installation in
            let owner = installation.owner
            let record = records[owner]
            let status: String
            if installation.status == .uninstalled {
                status = "revoked"
            } else if let record {
                status = Self.status(record, now: now, expiringWithin: window)
            } else {
                status = installation.status == .needsReinstall ? "needs_reinstall" : "no_token"
            }
            return Row(
                kind: owner.kind,
                companyId: installation.companyId ?? (owner.kind == "company" ? owner.id : nil),
                locationId: owner.kind == "location" ? owner.id : nil,
                scopes: record?.scopes ?? installation.grantedScopes,
                expiresAt: record?.expiresAt,
                status: status)
        }
    }

    /// `healthy`, `expiring`, `refresh_failing` or `needs_reinstall`.
    package static func status(_ record: TokenRecord, now: Date, expiringWithin window: TimeInterval) -> String {
        switch record.state {
        case .needsReinstall: "needs_reinstall"
        case .refreshFailing: "refresh_failing"
        case .active: record.expiresAt.timeIntervalSince(now) < window ? "expiring" : "healthy"
        }
    }

    package static func table(_ rows: [Row], now: Date = Date()) -> String {
        let header = ["KIND", "COMPANY", "LOCATION", "SCOPES", "EXPIRES IN", "STATUS"]
        let lines = rows.map { row in
            [
                row.kind, row.companyId ?? "-", row.locationId ?? "-",
                row.scopes.isEmpty ? "-" : row.scopes.joined(separator: ","),
                row.expiresAt.map { duration($0.timeIntervalSince(now)) } ?? "-", row.status,
            ]
        }
        let widths = header.indices.map { column in ([header] + lines).map { $0[column].count }.max() ?? 0 }
        return ([header] + lines).map { cells in
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func duration(_ seconds: TimeInterval) -> String {
        guard seconds > 0 else { return "expired" }
        let minutes = Int(seconds) / 60
        return minutes >= 60 ? "\(minutes / 60)h\(minutes % 60)m" : "\(minutes)m"
    }
}
