import AsyncHTTPClient
import Foundation
import GatewayTestSupport
import HighLevelOAuth
import HighLevelSimulator
import Logging
import NIOCore
import TokenVault

/// A simulator, a vault in a temp directory, a client and a broker wired together for one test.
struct OAuthHarness: Sendable {
    let simulator: HighLevelSimulator
    let baseURL: String
    let vault: SQLiteVault
    let client: HighLevelOAuthClient
    let broker: TokenBroker
    let http: HTTPClient
    let redirectURI = "http://127.0.0.1:1/oauth/callback"

    static func run(
        _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
        brokerSettings: TokenBroker.Settings = .init(refreshMargin: 60, baseBackoff: 60, maxBackoff: 600),
        _ body: @Sendable (OAuthHarness) async throws -> Void
    ) async throws {
        let directory = TemporaryDirectory()
        try await HighLevelSimulator.withRunning(configuration) { simulator, baseURL in
            var httpConfiguration = HTTPClient.Configuration()
            httpConfiguration.redirectConfiguration = .disallow
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
            do {
                let vault = try await SQLiteVault.open(
                    path: directory.file("vault.sqlite"),
                    keyring: try EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64()))
                let client = HighLevelOAuthClient(
                    settings: .init(apiBaseURL: baseURL, clientId: configuration.clientId, clientSecret: Secret(configuration.clientSecret)),
                    http: http)
                var logger = Logger(label: "test")
                logger.logLevel = .critical
                let broker = TokenBroker(vault: vault, client: client, settings: brokerSettings, logger: logger)
                try await body(
                    OAuthHarness(
                        simulator: simulator, baseURL: baseURL, vault: vault, client: client, broker: broker, http: http))
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
        _ = directory
    }

    /// Runs the marketplace consent on the simulator and returns the code it redirects with.
    func authorizationCode(scopes: [String]) async throws -> String {
        let query = FormEncoding.encode([
            ("response_type", "code"), ("client_id", client.settings.clientId), ("redirect_uri", redirectURI),
            ("scope", scopes.joined(separator: " ")), ("state", "s1"),
        ])
        let response = try await http.execute(
            HTTPClientRequest(url: baseURL + "/oauth/chooselocation?" + query), timeout: .seconds(5))
        let location = try require(response.headers.first(name: "location"))
        let components = try require(URLComponents(string: location))
        return try require(components.queryItems?.first { $0.name == "code" }?.value)
    }

    /// A full install as the gateway does it: consent, code exchange, stored with linked locations.
    @discardableResult
    func install(scopes: [String] = ["contacts.readonly", "oauth.write", "oauth.readonly"]) async throws -> TokenOwner {
        let response = try await client.exchangeCode(try await authorizationCode(scopes: scopes), redirectURI: redirectURI)
        if response.userType == "Company", let company = response.companyId {
            try await vault.install(
                Installation(owner: .company(company), companyId: company, grantedScopes: response.scopes, source: .install),
                grant: response.grant(origin: .code))
            try await vault.linkLocations(response.approvedLocations, toCompany: company, source: .approved)
            return .company(company)
        }
        let location = try require(response.locationId)
        try await vault.install(
            Installation(owner: .location(location), companyId: response.companyId, grantedScopes: response.scopes, source: .install),
            grant: response.grant(origin: .code))
        return .location(location)
    }
}

struct MissingValue: Error {}

func require<T>(_ value: T?) throws -> T {
    guard let value else { throw MissingValue() }
    return value
}
