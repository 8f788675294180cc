import Foundation
import GatewayPolicy
import GatewayRuntime
import HighLevelOAuth
import Logging
import TokenVault

/// HighLevel's marketplace install (authorization code flow), from either entry point: the
/// gateway's `/oauth/install` (a single-use `state` out and back) or HighLevel's own marketplace
/// and installation link (a callback with a code and no state). The code is exchanged once,
/// checked against `install.allowed_companies`, and stored with its installation in one transaction.
///
/// A callback without a state is safe to accept: the code is single use and bound to the
/// redirect URI and to the client secret only the gateway holds, so whoever brings one has just
/// been let by HighLevel install the app, which they could do from the marketplace anyway. What
/// the state still guards (an install started here being completed by someone else's code) is
/// kept: a callback that carries a state must present a valid, unused one.
package struct InstallFlow: Sendable {
    /// What the callback answers: a page for the installing admin, or a redirect after success.
    package struct Outcome: Sendable {
        package var status: Int
        package var page: String
        /// `Location` of a 302 (`install.success_redirect_url`).
        package var redirect: String?
        /// `Retry-After` seconds of a 429.
        package var retryAfter: Int?
    }

    /// How a callback arrived, for metrics and logs.
    enum Entry: String {
        /// Started at the gateway's `/oauth/install`: it carries a state.
        case gateway
        /// Started in HighLevel (marketplace listing or installation link): no state.
        case marketplace
    }

    let configuration: GatewayConfiguration
    let vault: any InstallationStore & InstallStateStore
    let oauth: HighLevelOAuthClient
    let broker: TokenBroker
    let callbackLimiter: ClientRateLimiter
    /// Where each stored install is kept (`audit:`).
    let audit: AuditTrail?
    let metrics: GatewayMetrics
    let logger: Logger

    /// How long a state started at `/oauth/install` stays valid.
    static let stateLifetime: Double = 600
    /// States one replica may create per lifetime, whatever the number of addresses asking: expired
    /// states are purged on each insert, so the table holds at most this many per replica.
    static let stateLimit = RateLimit(requests: 500, periodSeconds: stateLifetime)

    /// Handles `GET /oauth/install`: a redirect to the marketplace with a fresh state, unless this
    /// address (`install.callback_rate_limit`, counted apart from callbacks) or all together
    /// (`stateLimit`) started too many installs; each start writes a row, so it is not free.
    package func start(clientAddress: String) async -> Outcome {
        let wait =
            callbackLimiter.acquire(client: "install " + clientAddress, limit: configuration.install.callbackRateLimit)
            ?? callbackLimiter.acquire(client: "install (all addresses)", limit: Self.stateLimit)
        if let wait {
            logger.warning("install starts rate limited", metadata: ["address": "\(clientAddress.prefix(64))"])
            metrics.install(entry: Entry.gateway.rawValue, outcome: "start_rate_limited")
            var outcome = failure(429, "Too many installs started from here. Wait a minute and start the install again.")
            outcome.retryAfter = max(1, Int(wait.rounded(.up)))
            return outcome
        }
        do {
            let url = try await installURL()
            return Outcome(status: 302, page: HTMLPage(title: "ghl-gateway", lines: ["Continue to HighLevel."]).html, redirect: url)
        } catch {
            logger.error("install link not created", metadata: ["error": "\(error)"])
            return failure(503, "The gateway cannot start an install right now.")
        }
    }

    /// The marketplace URL to send the admin's browser to, with a fresh state.
    func installURL() async throws(VaultError) -> String {
        let state = try await vault.createOAuthState(lifetime: Self.stateLifetime)
        let query = FormEncoding.encode(
            [
                ("response_type", "code"),
                ("redirect_uri", configuration.redirectURI),
                ("client_id", configuration.highlevel.clientId),
                ("scope", configuration.highlevel.installScopes.joined(separator: " ")),
                ("state", state),
            ] + configuration.highlevel.installURLParameters.map { ($0.name, $0.value) })
        return configuration.highlevel.marketplaceURL + "/oauth/chooselocation?" + query
    }

    /// Handles `GET /oauth/callback`: checks the state (or, without one, the marketplace rules),
    /// exchanges the code once, keeps only allowed companies, stores the result.
    /// `clientAddress` keys the rate limit on callbacks without a state.
    package func complete(query: [String: String], clientAddress: String) async -> Outcome {
        let entry: Entry = query["state"] == nil ? .marketplace : .gateway
        if let refusal = await admit(query, entry: entry, clientAddress: clientAddress) {
            return refusal
        }
        guard let code = query["code"], !code.isEmpty else {
            metrics.install(entry: entry.rawValue, outcome: "no_code")
            return failure(400, "HighLevel sent no authorization code.")
        }
        do {
            guard try await vault.claimAuthorizationCode(code) else {
                logger.warning("install callback with an authorization code already used", metadata: ["entry": "\(entry.rawValue)"])
                metrics.install(entry: entry.rawValue, outcome: "code_reused")
                return failure(400, "This authorization code was already used. Start the install again.")
            }
        } catch {
            return unavailable(entry, error)
        }
        let response: TokenResponse
        do {
            response = try await oauth.exchangeCode(code, redirectURI: configuration.redirectURI)
        } catch {
            logger.error("code exchange failed", metadata: ["entry": "\(entry.rawValue)", "error": "\(error)"])
            if error.isTransient { try? await vault.releaseAuthorizationCode(code) }
            metrics.install(entry: entry.rawValue, outcome: "exchange_failed")
            return failure(502, "HighLevel did not accept the authorization code (\(error)). Start the install again.")
        }
        if let refusal = await refuseIfNotAllowed(response, entry: entry) {
            return refusal
        }
        do {
            let outcome = try await store(response)
            metrics.install(entry: entry.rawValue, outcome: "installed")
            let owner = Self.isCompany(response) ? response.companyId.map { "company:\($0)" } : response.locationId.map { "location:\($0)" }
            audit?.admin("install", "done", detail: "\(owner ?? "?") from the \(entry.rawValue) entry")
            return outcome
        } catch {
            logger.error("install not stored", metadata: ["error": "\(error)"])
            metrics.install(entry: entry.rawValue, outcome: "not_stored")
            return failure(503, "The install could not be stored. Start the install again.")
        }
    }

    /// The checks before any code is looked at: HighLevel's error, the state or the marketplace
    /// rules (enabled, rate limited per address). Nil admits the callback.
    private func admit(_ query: [String: String], entry: Entry, clientAddress: String) async -> Outcome? {
        if let state = query["state"] {
            let valid: Bool
            do {
                valid = try await vault.consumeOAuthState(state)
            } catch {
                return unavailable(entry, error)
            }
            if let refusal = highLevelError(query, entry: entry) { return refusal }
            guard valid else {
                logger.warning("install callback with unknown, used or expired state")
                metrics.install(entry: entry.rawValue, outcome: "bad_state")
                return failure(400, "This install link is invalid, already used or expired. Start the install again.")
            }
            return nil
        }
        if let refusal = highLevelError(query, entry: entry) { return refusal }
        guard configuration.install.acceptMarketplaceInstalls else {
            logger.warning("install callback without a state refused (install.accept_marketplace_installs is false)")
            metrics.install(entry: entry.rawValue, outcome: "marketplace_disabled")
            return failure(400, "This gateway accepts only installs started at its own install link (/oauth/install). Start the install there.")
        }
        if let wait = callbackLimiter.acquire(client: clientAddress, limit: configuration.install.callbackRateLimit) {
            logger.warning("install callbacks without a state rate limited", metadata: ["address": "\(clientAddress.prefix(64))"])
            metrics.install(entry: entry.rawValue, outcome: "rate_limited")
            var outcome = failure(429, "Too many install attempts from this address. Wait a minute and start the install again.")
            outcome.retryAfter = max(1, Int(wait.rounded(.up)))
            return outcome
        }
        return nil
    }

    private func highLevelError(_ query: [String: String], entry: Entry) -> Outcome? {
        guard let error = query["error"] else { return nil }
        logger.warning("install refused by HighLevel", metadata: ["error": "\(error.prefix(100))"])
        metrics.install(entry: entry.rawValue, outcome: "highlevel_error")
        return failure(400, "HighLevel reported an error: \(error) \(query["error_description"] ?? "")")
    }

    /// Outside `install.allowed_companies`: nothing is stored, and HighLevel is asked to uninstall
    /// the app there when the token may (`oauth.write`), so the stranger's install does not linger.
    private func refuseIfNotAllowed(_ response: TokenResponse, entry: Entry) async -> Outcome? {
        guard let allowed = configuration.install.allowedCompanies, !allowed.contains(response.companyId ?? "") else { return nil }
        let company = response.companyId ?? "unknown"
        let installer: TokenOwner = Self.isCompany(response) ? .company(company) : .location(response.locationId ?? "")
        var uninstalled = "not attempted (the token lacks oauth.write)"
        if response.scopes.contains("oauth.write"), response.companyId != nil || response.locationId != nil {
            do {
                try await oauth.uninstall(
                    installer, accessToken: response.accessToken, appId: configuration.highlevel.appId,
                    reason: "This gateway serves only its own companies (install.allowed_companies).")
                uninstalled = "uninstalled"
            } catch {
                uninstalled = "uninstall failed: \(error)"
            }
        }
        logger.warning(
            "install by a company outside install.allowed_companies refused; nothing stored",
            metadata: [
                "entry": "\(entry.rawValue)", "company": "\(company.prefix(40))",
                "location": "\((response.locationId ?? "-").prefix(40))", "uninstall": "\(uninstalled)",
            ])
        metrics.install(entry: entry.rawValue, outcome: "company_not_allowed")
        return failure(
            403,
            "This gateway is not open to company \(company): the install was not kept and the app was removed from it. Ask the gateway's operator to add the company to install.allowed_companies."
        )
    }

    private func store(_ response: TokenResponse) async throws -> Outcome {
        if Self.isCompany(response) {
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
            logger.info(
                "company installed",
                metadata: [
                    "company": "\(companyId)", "locations": "\(locations.count)", "scopes": "\(response.scopes.joined(separator: " "))",
                ])
            return success(
                companyId: companyId, locationId: nil,
                lines: [
                    "Company: \(companyId)",
                    "Locations: \(locations.isEmpty ? "none listed yet" : locations.joined(separator: ", "))",
                    "Scopes granted: \(response.scopes.joined(separator: " "))",
                ])
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
        return success(
            companyId: response.companyId, locationId: locationId,
            lines: [
                "Location: \(locationId)" + (response.companyId.map { " (company \($0))" } ?? ""),
                "Scopes granted: \(response.scopes.joined(separator: " "))",
            ])
    }

    private static func isCompany(_ response: TokenResponse) -> Bool {
        response.userType == "Company" || (response.userType == nil && response.locationId == nil)
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

    /// `install.success_redirect_url` with `companyId` and `locationId` added, or the built-in page.
    private func success(companyId: String?, locationId: String?, lines: [String]) -> Outcome {
        let page = HTMLPage(title: "ghl-gateway installed", lines: lines).html
        guard let target = configuration.install.successRedirectURL else { return Outcome(status: 200, page: page) }
        let query = FormEncoding.encode(
            [("companyId", companyId), ("locationId", locationId)].compactMap { name, value in
                value.map { (name, $0) }
            })
        let separator = target.contains("?") ? "&" : "?"
        return Outcome(status: 302, page: page, redirect: query.isEmpty ? target : target + separator + query)
    }

    private func unavailable(_ entry: Entry, _ error: VaultError) -> Outcome {
        logger.error("install callback cannot reach the database", metadata: ["error": "\(error)"])
        metrics.install(entry: entry.rawValue, outcome: "not_stored")
        return failure(503, "The gateway cannot reach its database. Try the install again later.")
    }

    private func failure(_ status: Int, _ message: String) -> Outcome {
        Outcome(status: status, page: HTMLPage(title: "ghl-gateway install failed", lines: [message]).html)
    }
}
