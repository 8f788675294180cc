import Foundation
import GatewayPolicy
import Testing
import TokenVault

@testable import GatewayProxy
@testable import GatewayRuntime
@testable import HighLevelOAuth

@Suite("Stage: token selection")
struct TokenSelectorTests {
    let fixture: StageFixture

    init() throws {
        fixture = try StageFixture(allow: ["contacts.readonly", "locations.readonly", "oauth.readonly"])
    }

    private func route(_ method: String, _ path: String) throws -> ProxyExchange.Routed {
        try fixture.routed(method, path)
    }

    private func code(_ body: () throws(GatewayError) -> Void) -> GatewayError.Code? {
        do {
            try body()
            return nil
        } catch {
            return error.code
        }
    }

    @Test func theAccessTypeSaysWhoseToken() throws {
        let subAccount = try route("GET", "/contacts/x").route
        let agency = try route("GET", "/oauth/installedLocations").route
        let both = try route("GET", "/locations/locA").route
        #expect(try TokenSelector.owner(for: subAccount, target: .init(location: "locA", company: "cmpA")) == .location("locA"))
        #expect(try TokenSelector.owner(for: agency, target: .init(location: "locA", company: "cmpA")) == .company("cmpA"))
        #expect(try TokenSelector.owner(for: both, target: .init(location: "locA", company: "cmpA")) == .location("locA"))
        #expect(try TokenSelector.owner(for: both, target: .init(company: "cmpA")) == .company("cmpA"))
        #expect(code { () throws(GatewayError) in _ = try TokenSelector.owner(for: subAccount, target: .init(company: "cmpA")) } == .locationRequired)
        #expect(code { () throws(GatewayError) in _ = try TokenSelector.owner(for: agency, target: .init(location: "locA")) } == .badRequest)
    }

    @Test func anAgencyRouteNamedByItsLocationLooksTheCompanyUp() throws {
        let agency = try route("GET", "/oauth/installedLocations").route
        let subAccount = try route("GET", "/contacts/x").route
        #expect(TokenSelector.needsCompletion(.init(location: "locA"), for: agency))
        #expect(!TokenSelector.needsCompletion(.init(location: "locA", company: "cmpA"), for: agency))
        #expect(!TokenSelector.needsCompletion(.init(location: "locA"), for: subAccount))
    }

    @Test func theTokenMustCarryTheRoutesScope() throws {
        let contacts = try route("GET", "/contacts/x").route
        func token(_ scopes: [String]) -> AccessToken {
            AccessToken(owner: .location("locA"), token: Secret("t"), scopes: scopes, expiresAt: Date().addingTimeInterval(600), version: 1)
        }
        #expect(code { () throws(GatewayError) in try TokenSelector.checkScope(contacts, token(["contacts.readonly"])) } == nil)
        #expect(
            code { () throws(GatewayError) in try TokenSelector.checkScope(contacts, token(["contacts.write", "locations.readonly"])) }
                == .scopeNotInstalled)
    }

    @Test func brokerFailuresBecomeTheirCodes() {
        #expect(GatewayError(.notInstalled(.location("l"))).code == .notInstalled)
        #expect(GatewayError(.needsReinstall(.location("l"))).code == .notInstalled)
        #expect(GatewayError(.exchangeNotPermitted(location: "l", company: "c")).code == .notInstalled)
        #expect(GatewayError(.unavailable(.location("l"), reason: "x")).code == .tokenUnavailable)
    }
}
