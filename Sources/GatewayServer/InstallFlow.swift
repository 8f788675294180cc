import Foundation
import HighLevelOAuth
import Logging
import TokenVault

/// HighLevel's marketplace install (authorization code flow): a single-use `state` out, the code
/// exchanged on return, installation and token stored in one transaction.
package struct InstallFlow: Sendable {
    /// What the callback answers: an HTTP status and a page for the installing admin.
    package struct Outcome: Sendable {
        package var status: Int
        package var page: String
    }

    let configuration: GatewayConfiguration
    let vault: TokenVault
    let oauth: HighLevelOAuthClient
    let broker: TokenBroker
    let logger: Logger

    /// The marketplace URL to send the admin's browser to, with a fresh state.
    package func installURL() async throws(VaultError) -> String {
        let state = try await vault.createOAuthState()
        let query = FormEncoding.encode([
            ("response_type", "code"),
            ("redirect_uri", configuration.redirectURI),
            ("client_id", configuration.highlevel.clientId),
            ("scope", configuration.highlevel.installScopes.joined(separator: " ")),
            ("state", state),
        ])
        return configuration.highlevel.marketplaceURL + "/oauth/chooselocation?" + query
    }

    /// Handles `GET /oauth/callback`: checks the state, exchanges the code, stores the result.
    package func complete(query: [String: String]) async -> Outcome {
        let stateValid: Bool
        do {
            stateValid = try await query["state"].asyncMap { try await vault.consumeOAuthState($0) } ?? false
        } catch {
            logger.error("install callback cannot check state", metadata: ["error": "\(error)"])
            return failure(503, "The gateway cannot reach its database. Try the install again later.")
        }
        if let error = query["error"] {
            logger.warning("install refused by HighLevel", metadata: ["error": "\(error.prefix(100))"])
            return failure(400, "HighLevel reported an error: \(error) \(query["error_description"] ?? "")")
        }
        guard stateValid else {
            logger.warning("install callback with unknown, used or expired state")
            return failure(400, "This install link is invalid, already used or expired. Start the install again.")
        }
        guard let code = query["code"], !code.isEmpty else {
            return failure(400, "HighLevel sent no authorization code.")
        }
        let response: TokenResponse
        do {
            response = try await oauth.exchangeCode(code, redirectURI: configuration.redirectURI)
        } catch {
            logger.error("code exchange failed", metadata: ["error": "\(error)"])
            return failure(502, "HighLevel did not accept the authorization code (\(error)). Start the install again.")
        }
        do {
            return try await store(response)
        } catch {
            logger.error("install not stored", metadata: ["error": "\(error)"])
            return failure(503, "The install could not be stored. Start the install again.")
        }
    }

    private func store(_ response: TokenResponse) async throws -> Outcome {
        let isCompany = response.userType == "Company" || (response.userType == nil && response.locationId == nil)
        if isCompany {
            guard let companyId = response.companyId else { return failure(502, "HighLevel's answer names no company.") }
            let owner = TokenOwner.company(companyId)
            try await vault.install(
                Installation(
                    owner: owner, companyId: companyId, grantedScopes: response.scopes, isBulk: response.isBulkInstallation,
                    planId: response.planId, userId: response.userId, source: .install),
                grant: response.grant(origin: .code))
            await broker.forget(owner)
            try await vault.linkLocations(response.approvedLocations, toCompany: companyId, source: .approved)
            let reconciled = await reconcileLocations(companyId: companyId, scopes: response.scopes)
            let locations = Set(response.approvedLocations + reconciled).sorted()
            logger.info("company installed", metadata: [
                "company": "\(companyId)", "locations": "\(locations.count)", "scopes": "\(response.scopes.joined(separator: " "))",
            ])
            return Outcome(status: 200, page: HTMLPage(title: "ghl-gateway installed", lines: [
                "Company: \(companyId)",
                "Locations: \(locations.isEmpty ? "none listed yet" : locations.joined(separator: ", "))",
                "Scopes granted: \(response.scopes.joined(separator: " "))",
            ]).html)
        }
        guard let locationId = response.locationId else { return failure(502, "HighLevel's answer names no location.") }
        let owner = TokenOwner.location(locationId)
        try await vault.install(
            Installation(
                owner: owner, companyId: response.companyId, grantedScopes: response.scopes, planId: response.planId,
                userId: response.userId, source: .install),
            grant: response.grant(origin: .code))
        await broker.forget(owner)
        logger.info("location installed", metadata: ["location": "\(locationId)", "company": "\(response.companyId ?? "-")"])
        return Outcome(status: 200, page: HTMLPage(title: "ghl-gateway installed", lines: [
            "Location: \(locationId)" + (response.companyId.map { " (company \($0))" } ?? ""),
            "Scopes granted: \(response.scopes.joined(separator: " "))",
        ]).html)
    }

    /// A bulk install's answer may not list every chosen location: ask `installedLocations`
    /// when the token may (HighLevel docs issues 294, 130). Failures are logged, not fatal.
    private func reconcileLocations(companyId: String, scopes: [String]) async -> [String] {
        guard scopes.contains("oauth.readonly") || scopes.contains("oauth.write") else { return [] }
        do {
            let company = try await broker.accessToken(for: .company(companyId))
            let locations = try await oauth.installedLocations(
                companyToken: company.token, companyId: companyId, appId: configuration.highlevel.appId)
            try await vault.linkLocations(locations, toCompany: companyId, source: .installedLocations)
            return locations
        } catch {
            logger.warning("installed locations not reconciled", metadata: ["company": "\(companyId)", "error": "\(error)"])
            return []
        }
    }

    private func failure(_ status: Int, _ message: String) -> Outcome {
        Outcome(status: status, page: HTMLPage(title: "ghl-gateway install failed", lines: [message]).html)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
