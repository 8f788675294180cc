import Crypto
import CryptoExtras

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
    /// The redirect URL registered in the developer portal: where a marketplace install sends the
    /// admin, and the only `redirect_uri` the consent screen accepts. Nil accepts any (no marketplace installs).
    package var registeredRedirectURI: String?
    /// The scopes the app's marketplace listing asks for.
    package var listingScopes: [String]
    /// The app's webhook URL, where `POST /sim/webhooks/send` delivers signed events.
    package var webhookURL: String?
    /// Signs the webhooks it sends (`x-ghl-signature`), as HighLevel's published key does for real ones.
    package var webhookSigningKey = Curve25519.Signing.PrivateKey()
    /// HighLevel's limits per app and location (or company): at most `burst` calls in any window
    /// of `windowSeconds` and `daily` a day, reported in `X-RateLimit-*` headers on every API
    /// answer, 429 beyond. Nil: no limit, no headers.
    package var rateLimit: RateLimit?

    package struct RateLimit: Sendable {
        package var burst: Int
        package var windowSeconds: Double
        package var daily: Int

        package init(burst: Int = 100, windowSeconds: Double = 10, daily: Int = 200_000) {
            self.burst = burst
            self.windowSeconds = windowSeconds
            self.daily = daily
        }
    }

    package init(
        clientId: String = "65f0c0ffee00000000000001-lq2x9abc",
        clientSecret: String = "sim-client-secret-0123456789",
        installer: Installer = .company(companyId: "cmpSim0001", locations: ["locSim0001", "locSim0002"]),
        grantedScopes: [String]? = nil,
        accessTokenLifetime: Int = 86_399,
        locationTokensHaveRefreshToken: Bool = true,
        listsApprovedLocations: Bool = true,
        registeredRedirectURI: String? = nil,
        listingScopes: [String] = ["contacts.readonly", "contacts.write", "oauth.readonly", "oauth.write"]
    ) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.installer = installer
        self.grantedScopes = grantedScopes
        self.accessTokenLifetime = accessTokenLifetime
        self.locationTokensHaveRefreshToken = locationTokensHaveRefreshToken
        self.listsApprovedLocations = listsApprovedLocations
        self.registeredRedirectURI = registeredRedirectURI
        self.listingScopes = listingScopes
    }

    /// The public half of `webhookSigningKey` (PEM), to configure as the gateway's webhook key.
    package var webhookPublicKeyPEM: String { webhookSigningKey.publicKey.pemRepresentation }

    /// The part of `clientId` before the first `-`: what webhooks carry as `appId`.
    package var appId: String { String(clientId.prefix { $0 != "-" }) }
}
