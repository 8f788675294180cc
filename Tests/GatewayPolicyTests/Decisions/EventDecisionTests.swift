import Foundation
import Testing

@testable import GatewayPolicy

@Suite("Which client an event goes to")
struct EventDecisionTests {
    private func client(locations: String = "[locA]", companies: String = "[]", allow: String, events: String) throws -> ClientPolicy {
        let text = """
            client: c
            key: \(PolicyLoaderTests.keyA)
            locations: \(locations)
            companies: \(companies)
            allow: \(allow)
            webhooks:
              url: https://c.internal/events
              secret: env:S
              events: \(events)
            """
        let set = try PolicyLoader.parse(
            [(path: "c.yaml", text: text)], catalog: PolicyLoaderTests.catalog,
            environment: ["S": "whsec_" + Data(repeating: 3, count: 32).base64EncodedString()])
        return try #require(set.clients["c"])
    }

    let contactScopes = PolicyLoaderTests.catalog.events["ContactCreate"] ?? []

    @Test func aGrantedScopeALocationAndTheTypeAllHold() throws {
        let subscriber = try client(allow: "[contacts.readonly]", events: "[ContactCreate]")
        #expect(subscriber.receives(type: "ContactCreate", scopes: contactScopes, locationId: "locA", companyId: nil).delivered)
        // Each rule alone refuses.
        #expect(!subscriber.receives(type: "ContactCreate", scopes: contactScopes, locationId: "locB", companyId: nil).delivered)
        #expect(!subscriber.receives(type: "ContactDelete", scopes: contactScopes, locationId: "locA", companyId: nil).delivered)
        #expect(!subscriber.receives(type: "ContactCreate", scopes: ["opportunities.readonly"], locationId: "locA", companyId: nil).delivered)
    }

    @Test func starMeansEveryEventTheScopesAllowButNotTheLifecycle() throws {
        let subscriber = try client(locations: "[\"*\"]", allow: "[contacts.readonly]", events: "[\"*\"]")
        #expect(subscriber.receives(type: "ContactCreate", scopes: contactScopes, locationId: "any", companyId: nil).delivered)
        #expect(!subscriber.receives(type: "OpportunityCreate", scopes: ["opportunities.readonly"], locationId: "any", companyId: nil).delivered)
        let install = subscriber.receives(type: "INSTALL", scopes: [], locationId: "any", companyId: "cmpA")
        #expect(!install.delivered)
        #expect(install.reason == "INSTALL goes only to clients that name it in webhooks.events")
    }

    @Test func lifecycleEventsGoToThoseThatNameThemForTheirTargets() throws {
        let subscriber = try client(companies: "[cmpA]", allow: "[contacts.readonly]", events: "[INSTALL, UNINSTALL]")
        #expect(subscriber.receives(type: "INSTALL", scopes: [], locationId: "locA", companyId: "cmpA").delivered)
        #expect(subscriber.receives(type: "UNINSTALL", scopes: [], locationId: nil, companyId: "cmpA").delivered)
        #expect(!subscriber.receives(type: "INSTALL", scopes: [], locationId: nil, companyId: "cmpB").delivered)
        #expect(!subscriber.receives(type: "INSTALL", scopes: [], locationId: "locB", companyId: "cmpA").delivered)
    }

    @Test func aDeniedScopeEntitlesToNothing() throws {
        let text = """
            client: c
            key: \(PolicyLoaderTests.keyA)
            locations: [locA]
            allow: [contacts.readonly, contacts.write]
            deny: [contacts.readonly]
            """
        let set = try PolicyLoader.parse([(path: "c.yaml", text: text)], catalog: PolicyLoaderTests.catalog)
        #expect(set.clients["c"]?.grantedScopes == ["contacts.write"])
    }
}
