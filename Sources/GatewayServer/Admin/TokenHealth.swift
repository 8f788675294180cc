import Foundation
import TokenVault

/// `GET /health/tokens`: every token's state an operator needs, never a token value.
package struct TokenHealth: Sendable {
    package static let statuses = ["healthy", "expiring", "refresh_failing", "needs_reinstall", "revoked"]

    package struct Entry: Sendable, Encodable {
        package var kind: String
        package var companyId: String?
        package var locationId: String?
        package var scopes: [String]
        package var expiresAt: String?
        package var expiresInSeconds: Int?
        package var lastRefreshAt: String?
        package var lastError: String?
        package var consecutiveFailures: Int
        package var status: String
        /// How the token is obtained again if its refresh token dies: `exchange` (a location whose
        /// company's token can exchange one) or `reinstall` (no second copy: a company, or a location
        /// without such a company). Nil for a revoked installation.
        package var recovery: String?
        /// Whether a renewal will happen before expiry (refreshable, not backing off past it).
        var refreshScheduled: Bool

        private enum CodingKeys: String, CodingKey {
            case kind, companyId, locationId, scopes, expiresAt, expiresInSeconds, lastRefreshAt, lastError,
                consecutiveFailures, status, recovery
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(companyId, forKey: .companyId)
            try container.encode(locationId, forKey: .locationId)
            try container.encode(scopes, forKey: .scopes)
            try container.encode(expiresAt, forKey: .expiresAt)
            try container.encode(expiresInSeconds, forKey: .expiresInSeconds)
            try container.encode(lastRefreshAt, forKey: .lastRefreshAt)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(consecutiveFailures, forKey: .consecutiveFailures)
            try container.encode(status, forKey: .status)
            try container.encode(recovery, forKey: .recovery)
        }
    }

    package var entries: [Entry]

    /// Tokens (and uninstalled installations, as `revoked`), `expiring` meaning within `window`.
    package init(vault: any InstallationStore, expiringWithin window: TimeInterval, now: Date = Date()) async throws(VaultError) {
        let records = try await vault.tokenRecords()
        let installations = try await vault.installations()
        let formatter = ISO8601DateFormatter()
        let exchangingCompanies = Set(
            records.lazy.filter { record in
                record.owner.kind == "company" && record.state != .needsReinstall && record.scopes.contains("oauth.write")
            }.map(\.owner.id))
        var entries = records.map { record -> Entry in
            let status = TokenInventory.status(record, now: now, expiringWithin: window)
            let backingOffPastExpiry = record.nextAttemptAt.map { $0 >= record.expiresAt } ?? false
            return Entry(
                kind: record.owner.kind, companyId: record.companyId ?? (record.owner.kind == "company" ? record.owner.id : nil),
                locationId: record.owner.kind == "location" ? record.owner.id : nil, scopes: record.scopes,
                expiresAt: formatter.string(from: record.expiresAt),
                expiresInSeconds: Int(record.expiresAt.timeIntervalSince(now).rounded(.down)),
                lastRefreshAt: record.lastRefreshAt.map(formatter.string(from:)), lastError: record.lastError,
                consecutiveFailures: record.consecutiveFailures, status: status,
                recovery: record.owner.kind == "location" && record.companyId.map(exchangingCompanies.contains) == true
                    ? "exchange" : "reinstall",
                refreshScheduled: (record.hasRefreshToken || record.origin == .exchange) && !backingOffPastExpiry)
        }
        for installation in installations where installation.status == .uninstalled {
            let owner = installation.owner
            entries.append(
                Entry(
                    kind: owner.kind, companyId: installation.companyId ?? (owner.kind == "company" ? owner.id : nil),
                    locationId: owner.kind == "location" ? owner.id : nil, scopes: installation.grantedScopes, expiresAt: nil,
                    expiresInSeconds: nil, lastRefreshAt: nil, lastError: nil, consecutiveFailures: 0, status: "revoked",
                    recovery: nil, refreshScheduled: false))
        }
        self.entries = entries
    }

    /// `failing` when any token is refresh_failing or needs_reinstall, `degraded` when any is expiring
    /// without a renewal scheduled, else `ok`.
    package var overall: String {
        if entries.contains(where: { $0.status == "refresh_failing" || $0.status == "needs_reinstall" }) { return "failing" }
        if entries.contains(where: { $0.status == "expiring" && !$0.refreshScheduled }) { return "degraded" }
        return "ok"
    }

    /// How many tokens are in each status, every status included.
    package var counts: [String: Int] { Self.counts(entries) }

    static func counts(_ entries: [Entry]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: statuses.map { status in (status, entries.filter { $0.status == status }.count) })
    }

    package func filtered(status: String?, location: String?) -> TokenHealth {
        var copy = self
        copy.entries = entries.filter { entry in
            (status == nil || entry.status == status) && (location == nil || entry.locationId == location)
        }
        return copy
    }

    package func json() -> String {
        struct Body: Encodable {
            var status: String
            var summary: [String: Int]
            var tokens: [Entry]
        }
        var summary = counts
        summary["total"] = entries.count
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Body(status: overall, summary: summary, tokens: entries))) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
