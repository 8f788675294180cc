/// Who installs the app in the simulated marketplace, and how the simulated HighLevel behaves.
package struct SimulatorConfiguration: Sendable {
    /// The installing user: an agency admin choosing locations (bulk, Company token) or one location.
    package enum Installer: Sendable, Hashable {
        case company(companyId: String, locations: [String])
        case location(companyId: String, locationId: String)
    }

    /// `<appId>-<suffix>`, as HighLevel forms client ids.
    package var clientId: String
    package var clientSecret: String
    package var installer: Installer
    /// Scopes granted at install; nil grants exactly the requested `scope` parameter.
    package var grantedScopes: [String]?
    /// `expires_in` of every access token issued.
    package var accessTokenLifetime: Int
    /// Whether `/oauth/locationToken` answers with a `refresh_token` (HighLevel changed this over time).
    package var locationTokensHaveRefreshToken: Bool
    /// Whether a Company code exchange lists `approvedLocations` (HighLevel sometimes omits them).
    package var listsApprovedLocations: Bool

    package init(
        clientId: String = "65f0c0ffee00000000000001-lq2x9abc",
        clientSecret: String = "sim-client-secret-0123456789",
        installer: Installer = .company(companyId: "cmpSim0001", locations: ["locSim0001", "locSim0002"]),
        grantedScopes: [String]? = nil,
        accessTokenLifetime: Int = 86_399,
        locationTokensHaveRefreshToken: Bool = true,
        listsApprovedLocations: Bool = true
    ) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.installer = installer
        self.grantedScopes = grantedScopes
        self.accessTokenLifetime = accessTokenLifetime
        self.locationTokensHaveRefreshToken = locationTokensHaveRefreshToken
        self.listsApprovedLocations = listsApprovedLocations
    }

    /// The part of `clientId` before the first `-`: what webhooks carry as `appId`.
    package var appId: String { String(clientId.prefix { $0 != "-" }) }
}
