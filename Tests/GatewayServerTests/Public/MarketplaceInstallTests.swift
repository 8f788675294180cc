import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

/// Installs that start in HighLevel (the marketplace listing's Install button, the developer
/// portal's installation link): a callback with a code and no state.
@Suite("Installs started in HighLevel")
struct MarketplaceInstallTests {
    @Test func aCallbackWithoutStateStoresACompanyInstall() async throws {
        try await GatewayHarness.run { harness in
            let callback = try await harness.marketplaceConsent()
            #expect(URLComponents(string: callback)?.queryItems?.contains { $0.name == "state" } == false)
            let page = try await harness.get(callback)
            #expect(page.status == 200)
            #expect(page.body.contains("Company: cmpSim0001"))
            let token = try #require(try await harness.gateway.vault.token(for: .company("cmpSim0001")))
            #expect(token.record.scopes == SimulatorConfiguration().listingScopes)
            #expect(
                Set(try await harness.gateway.vault.installations().map(\.owner)) == [
                    .company("cmpSim0001"), .location("locSim0001"), .location("locSim0002"),
                ])
            #expect(try await harness.metric(#"ghl_gateway_installs_total{entry="marketplace",outcome="installed"}"#) == 1)
        }
    }

    @Test func aCallbackWithoutStateStoresALocationInstall() async throws {
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpSim0001", locationId: "locSim0042")
        try await GatewayHarness.run(configuration) { harness async throws in
            let page = try await harness.get(try await harness.marketplaceConsent())
            #expect(page.status == 200)
            #expect(page.body.contains("Location: locSim0042 (company cmpSim0001)"))
            #expect(try await harness.gateway.vault.token(for: .location("locSim0042"))?.record.companyId == "cmpSim0001")
        }
    }

    @Test func marketplaceInstallsCanBeTurnedOff() async throws {
        try await GatewayHarness.run(extraConfiguration: "install:\n  accept_marketplace_installs: false") { harness async throws in
            let refused = try await harness.get(try await harness.marketplaceConsent())
            #expect(refused.status == 400)
            #expect(refused.body.contains("only installs started at its own install link"))
            #expect(await harness.simulator.state.codeExchanges == 0)
            #expect(try await harness.gateway.vault.installations().isEmpty)
            // The gateway's own entry point still works.
            #expect(try await harness.get(try await harness.consent()).status == 200)
        }
    }

    @Test func aReplayedCodeMakesNoSecondCallToHighLevel() async throws {
        try await GatewayHarness.run { harness in
            let callback = try await harness.marketplaceConsent()
            #expect(try await harness.get(callback).status == 200)
            let tokenBefore = try await harness.gateway.vault.token(for: .company("cmpSim0001"))?.accessToken
            let replay = try await harness.get(callback)
            #expect(replay.status == 400)
            #expect(replay.body.contains("already used"))
            #expect(await harness.simulator.state.codeExchanges == 1)
            #expect(try await harness.gateway.vault.token(for: .company("cmpSim0001"))?.accessToken == tokenBefore)
            #expect(try await harness.metric(#"ghl_gateway_installs_total{entry="marketplace",outcome="code_reused"}"#) == 1)
        }
    }

    @Test func aCodeHighLevelCouldNotJudgeCanBeTriedAgain() async throws {
        try await GatewayHarness.run { harness in
            let callback = try await harness.marketplaceConsent()
            await harness.simulator.state.failNextCodeExchanges(1, status: 503)
            #expect(try await harness.get(callback).status == 502)
            #expect(try await harness.get(callback).status == 200)
            #expect(await harness.simulator.state.codeExchanges == 2)
        }
    }

    @Test func statelessCallbacksAreRateLimitedPerPeerAddress() async throws {
        try await GatewayHarness.run(extraConfiguration: "install:\n  callback_rate_limit: 3/60s") { harness async throws in
            for attempt in 0..<3 {
                #expect(try await harness.get(harness.publicURL + "/oauth/callback?code=random-\(attempt)").status == 502)
            }
            let limited = try await harness.get(harness.publicURL + "/oauth/callback?code=random-3")
            #expect(limited.status == 429)
            #expect(limited.headers["content-type"]?.hasPrefix("text/html") == true)
            let retryAfter = try #require(limited.headers["retry-after"].flatMap { Int($0) })
            #expect((1...20).contains(retryAfter))
            #expect(await harness.simulator.state.codeExchanges == 3)
            #expect(try await harness.metric(#"ghl_gateway_installs_total{entry="marketplace",outcome="rate_limited"}"#) == 1)
            // An install started at the gateway carries a state and is not limited.
            #expect(try await harness.get(try await harness.consent()).status == 200)
        }
    }

    /// Each start writes a state row, and the link needs no credentials: an address that starts
    /// installs in a loop is slowed, apart from its callbacks, and the other addresses are not.
    @Test func installStartsAreRateLimitedPerAddress() async throws {
        let extra = "install:\n  callback_rate_limit: 2/60s\n  client_address_header: X-Forwarded-For"
        try await GatewayHarness.run(extraConfiguration: extra) { harness async throws in
            let start: @Sendable (String) async throws -> GatewayHarness.Answer = { address in
                try await harness.get(harness.publicURL + "/oauth/install", headers: [("X-Forwarded-For", address)])
            }
            #expect(try await start("10.0.0.1").status == 302)
            #expect(try await start("10.0.0.1").status == 302)
            let limited = try await start("10.0.0.1")
            #expect(limited.status == 429)
            #expect(limited.headers["location"] == nil)
            #expect(try #require(limited.headers["retry-after"].flatMap { Int($0) }) >= 1)
            #expect(try await harness.metric(#"ghl_gateway_installs_total{entry="gateway",outcome="start_rate_limited"}"#) == 1)
            #expect(try await start("10.0.0.2").status == 302)
            // Its callbacks are counted apart: the limited address may still finish an install.
            #expect(
                try await harness.get(harness.publicURL + "/oauth/callback?code=random-0", headers: [("X-Forwarded-For", "10.0.0.1")]).status == 502)
        }
    }

    @Test func behindAProxyTheConfiguredHeaderNamesTheAddress() async throws {
        let extra = "install:\n  callback_rate_limit: 2/60s\n  client_address_header: X-Forwarded-For"
        try await GatewayHarness.run(extraConfiguration: extra) { harness async throws in
            let callback: @Sendable (String, Int) async throws -> Int = { forwarded, attempt in
                try await harness.get(
                    harness.publicURL + "/oauth/callback?code=random-\(attempt)", headers: [("X-Forwarded-For", forwarded)]
                ).status
            }
            #expect(try await callback("10.0.0.1", 0) == 502)
            // What the client wrote comes first; the proxy's own entry (the last) is what counts.
            #expect(try await callback("203.0.113.9, 10.0.0.1", 1) == 502)
            #expect(try await callback("198.51.100.7, 10.0.0.1", 2) == 429)
            #expect(try await callback("10.0.0.2", 3) == 502)
            #expect(await harness.simulator.state.codeExchanges == 3)
        }
    }

    @Test func aCompanyOutsideAllowedCompaniesIsNotStoredAndIsUninstalled() async throws {
        let logs = LogCapture()
        try await GatewayHarness.run(
            extraConfiguration: "install:\n  allowed_companies: [cmpOurAgency]", webhookKeys: WebhookSigner.shared, logs: logs
        ) { harness async throws in
            let page = try await harness.get(try await harness.marketplaceConsent())
            #expect(page.status == 403)
            #expect(page.body.contains("not open to company cmpSim0001"))
            #expect(try await harness.gateway.vault.installations().isEmpty)
            #expect(try await harness.gateway.vault.token(for: .company("cmpSim0001")) == nil)
            #expect(await harness.simulator.state.uninstalls == [.company("cmpSim0001")])
            #expect(try await harness.metric(#"ghl_gateway_installs_total{entry="marketplace",outcome="company_not_allowed"}"#) == 1)
            let text = logs.text
            #expect(text.contains("outside install.allowed_companies"))
            #expect(text.contains("uninstalled"))
            for token in await harness.simulator.state.everyIssuedToken {
                #expect(!text.contains(token))
                #expect(!page.body.contains(token))
            }
            // Its INSTALL webhook is acknowledged and ignored too.
            let body = WebhookTests.body(["type": "INSTALL", "installType": "Company", "companyId": "cmpSim0001"])
            let answer = try await harness.send(
                "POST", harness.publicURL + "/webhooks/highlevel",
                headers: [("Content-Type", "application/json"), ("x-ghl-signature", WebhookSigner.shared.ed25519Signature(body))],
                body: .init(data: body))
            #expect(answer.body == #"{"status":"ignored"}"#)
            #expect(try await harness.gateway.vault.installations().isEmpty)
        }
    }

    @Test func aStrangersLocationIsUninstalledWithItsOwnToken() async throws {
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpStranger", locationId: "locStranger")
        try await GatewayHarness.run(configuration, extraConfiguration: "install:\n  allowed_companies: [cmpOurAgency]") { harness async throws in
            #expect(try await harness.get(try await harness.marketplaceConsent()).status == 403)
            #expect(await harness.simulator.state.uninstalls == [.location("locStranger")])
            #expect(try await harness.gateway.vault.installations().isEmpty)
        }
    }

    @Test func withoutOAuthWriteNoUninstallIsAttemptedAndNothingIsStored() async throws {
        var configuration = SimulatorConfiguration()
        configuration.listingScopes = ["contacts.readonly"]
        try await GatewayHarness.run(configuration, extraConfiguration: "install:\n  allowed_companies: [cmpOurAgency]") { harness async throws in
            #expect(try await harness.get(try await harness.marketplaceConsent()).status == 403)
            #expect(await harness.simulator.state.uninstalls.isEmpty)
            #expect(try await harness.gateway.vault.installations().isEmpty)
        }
    }

    @Test func anAllowedCompanyInstalls() async throws {
        try await GatewayHarness.run(extraConfiguration: "install:\n  allowed_companies: [cmpOurAgency, cmpSim0001]") { harness async throws in
            #expect(try await harness.get(try await harness.marketplaceConsent()).status == 200)
            #expect(try await harness.gateway.vault.token(for: .company("cmpSim0001")) != nil)
            #expect(await harness.simulator.state.uninstalls.isEmpty)
        }
    }

    @Test func aSuccessfulInstallRedirectsToTheConfiguredPage() async throws {
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpSim0001", locationId: "locSim0042")
        let extra = "install:\n  success_redirect_url: https://intranet.example.com/highlevel/done?from=ghl"
        try await GatewayHarness.run(configuration, extraConfiguration: extra) { harness async throws in
            let answer = try await harness.get(try await harness.marketplaceConsent())
            #expect(answer.status == 302)
            #expect(answer.headers["location"] == "https://intranet.example.com/highlevel/done?from=ghl&companyId=cmpSim0001&locationId=locSim0042")
            // An error still shows the built-in page.
            let error = try await harness.get(harness.publicURL + "/oauth/callback?code=never-issued")
            #expect(error.status == 502)
            #expect(error.headers["location"] == nil)
            #expect(error.body.contains("ghl-gateway install failed"))
        }
    }

    @Test func aCompanyInstallRedirectsWithItsCompanyOnly() async throws {
        let extra = "install:\n  success_redirect_url: https://intranet.example.com/done"
        try await GatewayHarness.run(extraConfiguration: extra) { harness async throws in
            let answer = try await harness.get(try await harness.consent())
            #expect(answer.status == 302)
            #expect(answer.headers["location"] == "https://intranet.example.com/done?companyId=cmpSim0001")
        }
    }

    @Test func theInstallLinkCarriesConfiguredParameters() async throws {
        let parameters = "install_url_parameters:\n  version_id: 65f0c0ffee00000000000abc\n  note: a b&c"
        try await GatewayHarness.run(highlevelConfiguration: parameters) { harness async throws in
            let answer = try await harness.get(harness.publicURL + "/oauth/install")
            let location = try #require(answer.headers["location"])
            let items = try #require(URLComponents(string: location)?.queryItems)
            #expect(items.map(\.name) == ["response_type", "redirect_uri", "client_id", "scope", "state", "version_id", "note"])
            #expect(items.first { $0.name == "version_id" }?.value == "65f0c0ffee00000000000abc")
            #expect(items.first { $0.name == "note" }?.value == "a b&c")
            // The link still works end to end.
            let consent = try await harness.get(location)
            let callback = try #require(consent.headers["location"]).replacingOccurrences(of: "http://gateway.test", with: harness.publicURL)
            #expect(try await harness.get(callback).status == 200)
        }
    }
}
