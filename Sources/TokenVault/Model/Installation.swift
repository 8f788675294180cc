import Foundation

/// An install of the app by a company (agency, possibly for many locations) or by one location.
package struct Installation: Sendable, Equatable {
    /// How the gateway learnt about it.
    package enum Source: String, Sendable {
        /// The OAuth install flow (code exchange).
        case install
        /// Listed in a bulk install's `approvedLocations`.
        case approved
        /// Found through `GET /oauth/installedLocations`.
        case installedLocations = "installed_locations"
        /// An INSTALL webhook.
        case webhook
    }

    package enum Status: String, Sendable {
        case installed
        case needsReinstall = "needs_reinstall"
        case uninstalled
    }

    package var owner: TokenOwner
    /// The company a location belongs to (and a company's own id); nil when not known yet.
    package var companyId: String?
    package var grantedScopes: [String]
    package var isBulk: Bool
    package var planId: String?
    package var userId: String?
    package var source: Source
    package var status: Status
    package var installedAt: Date
    package var uninstalledAt: Date?

    package init(
        owner: TokenOwner, companyId: String?, grantedScopes: [String] = [], isBulk: Bool = false, planId: String? = nil,
        userId: String? = nil, source: Source, status: Status = .installed, installedAt: Date = Date(),
        uninstalledAt: Date? = nil
    ) {
        self.owner = owner
        self.companyId = companyId
        self.grantedScopes = grantedScopes
        self.isBulk = isBulk
        self.planId = planId
        self.userId = userId
        self.source = source
        self.status = status
        self.installedAt = installedAt
        self.uninstalledAt = uninstalledAt
    }
}
