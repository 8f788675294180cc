import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault

@Suite("Install flow end to end")
struct InstallFlowTests {
    @Test func installLinkCarriesWhatHighLevelNeeds() async throws {
        try await GatewayHarness.run { harness in
            let answer = try await harness.get(harness.publicURL + "/oauth/install")
            #expect(answer.status == 302)
            let location = try #require(answer.headers["location"])
            #expect(location.hasPrefix(harness.simulatorURL + "/oauth/chooselocation?"))
            let items = try #require(URLComponents(string: location)?.queryItems)
            let query = Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.value ?? "") })
            #expect(query["response_type"] == "code")
            #expect(query["client_id"] == SimulatorConfiguration().clientId)
            #expect(query["redirect_uri"] == "http://gateway.test/oauth/callback")
            #expect(query["scope"] == GatewayHarness.installScopes.joined(separator: " "))
            #expect((query["state"] ?? "").count >= 40)
            #expect(location.contains("scope=contacts.readonly%20contacts.write"))
        }
    }

    @Test func companyInstallStoresCompanyTokenAndItsLocations() async throws {
        try await GatewayHarness.run { harness in
            let page = try await harness.get(try await harness.consent())
            #expect(page.status == 200)
            #expect(page.body.contains("Company: cmpSim0001"))
            #expect(page.body.contains("locSim0001, locSim0002"))
            #expect(page.headers["referrer-policy"] == "no-referrer")
            let vault = harness.gateway.vault
            let token = try #require(try await vault.token(for: .company("cmpSim0001")))
            #expect(token.record.scopes == GatewayHarness.installScopes)
            #expect(token.record.origin == .code)
            let installations = try await vault.installations()
            #expect(
                Set(installations.map(\.owner)) == [
                    .company("cmpSim0001"), .location("locSim0001"), .location("locSim0002"),
                ])
            #expect(installations.filter { $0.owner.kind == "location" }.allSatisfy { $0.companyId == "cmpSim0001" })
            #expect(await harness.simulator.state.codeExchanges == 1)
        }
    }

    @Test func locationInstallStoresTheLocationToken() async throws {
        var configuration = SimulatorConfiguration()
        configuration.installer = .location(companyId: "cmpSim0001", locationId: "locSim0042")
        try await GatewayHarness.run(configuration) { harness in
            let page = try await harness.get(try await harness.consent())
            #expect(page.status == 200)
            #expect(page.body.contains("Location: locSim0042 (company cmpSim0001)"))
            let token = try #require(try await harness.gateway.vault.token(for: .location("locSim0042")))
            #expect(token.record.companyId == "cmpSim0001")
            #expect(try await harness.gateway.vault.token(for: .company("cmpSim0001")) == nil)
        }
    }

    @Test func bulkInstallWithoutApprovedLocationsIsReconciled() async throws {
        var configuration = SimulatorConfiguration()
        configuration.listsApprovedLocations = false
        try await GatewayHarness.run(configuration) { harness in
            let page = try await harness.get(try await harness.consent())
            #expect(page.status == 200)
            let locations = try await harness.gateway.vault.installations().filter { $0.owner.kind == "location" }
            #expect(locations.map(\.owner.id).sorted() == ["locSim0001", "locSim0002"])
            #expect(locations.allSatisfy { $0.source == .installedLocations })
        }
    }

    @Test func aReplayedCallbackIsRefused() async throws {
        try await GatewayHarness.run { harness in
            let callback = try await harness.consent()
            #expect(try await harness.get(callback).status == 200)
            let replay = try await harness.get(callback)
            #expect(replay.status == 400)
            #expect(replay.body.contains("invalid, already used or expired"))
            #expect(await harness.simulator.state.codeExchanges == 1)
        }
    }

    @Test func aForgedStateIsRefusedAndNothingIsExchanged() async throws {
        try await GatewayHarness.run { harness in
            let callback = try await harness.consent()
            var components = try #require(URLComponents(string: callback))
            components.queryItems = components.queryItems?.map {
                $0.name == "state" ? URLQueryItem(name: "state", value: "forged-state-value") : $0
            }
            let answer = try await harness.get(try #require(components.string))
            #expect(answer.status == 400)
            #expect(await harness.simulator.state.codeExchanges == 0)
            #expect(try await harness.gateway.vault.installations().isEmpty)
            // A state HighLevel would not send back on a marketplace install is checked all the same.
            let marketplace = try await harness.marketplaceConsent() + "&state=forged-state-value"
            #expect(try await harness.get(marketplace).status == 400)
            #expect(await harness.simulator.state.codeExchanges == 0)
            #expect(try await harness.gateway.vault.installations().isEmpty)
        }
    }

    @Test func anExpiredStateIsRefused() async throws {
        try await GatewayHarness.run { harness in
            let stale = try await harness.gateway.vault.createOAuthState(lifetime: 600, now: Date().addingTimeInterval(-700))
            let answer = try await harness.get(harness.publicURL + "/oauth/callback?code=anything&state=\(stale)")
            #expect(answer.status == 400)
            #expect(await harness.simulator.state.codeExchanges == 0)
        }
    }

    @Test func aReplayedCodeIsRefusedWithoutAskingHighLevel() async throws {
        try await GatewayHarness.run { harness in
            let first = try await harness.consent()
            #expect(try await harness.get(first).status == 200)
            let tokenBefore = try await harness.gateway.vault.token(for: .company("cmpSim0001"))?.accessToken
            // A new, valid state with the old code.
            let second = try await harness.consent()
            let oldCode = try #require(URLComponents(string: first)?.queryItems?.first { $0.name == "code" }?.value)
            var components = try #require(URLComponents(string: second))
            components.queryItems = components.queryItems?.map { $0.name == "code" ? URLQueryItem(name: "code", value: oldCode) : $0 }
            let answer = try await harness.get(try #require(components.string))
            #expect(answer.status == 400)
            #expect(answer.body.contains("already used"))
            #expect(await harness.simulator.state.codeExchanges == 1)
            #expect(try await harness.gateway.vault.token(for: .company("cmpSim0001"))?.accessToken == tokenBefore)
        }
    }

    @Test func aCodeHighLevelRefusesAnswers502() async throws {
        try await GatewayHarness.run { harness in
            let answer = try await harness.get(harness.publicURL + "/oauth/callback?code=never-issued")
            #expect(answer.status == 502)
            #expect(answer.body.contains("did not accept the authorization code"))
            #expect(await harness.simulator.state.codeExchanges == 1)
            #expect(try await harness.gateway.vault.installations().isEmpty)
        }
    }

    @Test func anErrorFromHighLevelIsShownEscapedAndNotExchanged() async throws {
        try await GatewayHarness.run { harness in
            let callback = try await harness.consent()
            let state = try #require(URLComponents(string: callback)?.queryItems?.first { $0.name == "state" }?.value)
            let answer = try await harness.get(
                harness.publicURL + "/oauth/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=\(state)")
            #expect(answer.status == 400)
            #expect(answer.body.contains("access_denied"))
            #expect(answer.body.contains("&lt;script&gt;"))
            #expect(!answer.body.contains("<script>"))
            #expect(await harness.simulator.state.codeExchanges == 0)
            // The state was spent by the error: the original callback no longer works.
            #expect(try await harness.get(callback).status == 400)
        }
    }

    @Test func restartKeepsTheInstall() async throws {
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(directory: directory) { harness in
            let page = try await harness.get(try await harness.consent())
            #expect(page.status == 200)
        }
        let vault = try await SQLiteVault.open(
            path: directory.file("gateway.sqlite"), keyring: try EncryptionKeyring(currentBase64: GatewayHarness.encryptionKey))
        #expect(try await vault.token(for: .company("cmpSim0001")) != nil)
        #expect(try await vault.installations().count == 3)
    }
}
