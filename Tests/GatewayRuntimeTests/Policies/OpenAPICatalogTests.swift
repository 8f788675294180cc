import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// A gateway whose `policies/openapi/` holds a spec beside the shipped table.
@Suite("OpenAPI routes through the gateway")
struct OpenAPICatalogTests {
    static let spec = """
        {"openapi": "3.0.0", "paths": {
          "/brand-boards/{locationId}": {"get": {"security": [{"Location-Access": ["medias.readonly"]}]}},
          "/brand-boards/voices/{id}": {"get": {}},
          "/agency-only/{locationId}/settings": {"get": {"security": [{"Agency-Access-Only": ["locations.readonly"]}]}},
          "/location-only/report": {"get": {"security": [{"Location-Access-Only": ["contacts.readonly"]}]}},
          "/contacts/{contactId}": {"get": {"security": [{"Location-Access": ["contacts.write"]}]}},
          "/contacts/{locationId}/report": {"get": {"security": [{"Location-Access": ["contacts.readonly"]}]}}
        }}
        """

    static func directory() -> TemporaryDirectory {
        let directory = TemporaryDirectory()
        directory.write("policies/openapi/test.json", spec)
        return directory
    }

    @Test func aRouteOnlyTheSpecDocumentsIsForwardedWithItsLocationsToken() async throws {
        let client = TestClient("boards")
        try await GatewayHarness.run(directory: Self.directory(), clients: ["c": client.policy(allow: ["medias.readonly"])]) { harness in
            try await harness.install()
            let answer = try await harness.proxy("GET", "/brand-boards/locSim0001", key: client.key)
            #expect(answer.status == 200)
            let call = try #require(await harness.simulator.state.calls.last)
            #expect(call.owner == .location("locSim0001"))
            #expect(call.path == "/brand-boards/locSim0001")
            let other = try await harness.proxy("GET", "/brand-boards/locOther", key: client.key)
            #expect(other.status == 403)
        }
    }

    @Test func eachRouteAtOneTriePositionNamesItsOwnTarget() async throws {
        let client = TestClient("c")
        let policy = client.policy(locations: ["locSim0001", "locOther"], allow: ["contacts.readonly"])
        try await GatewayHarness.run(directory: Self.directory(), clients: ["c": policy]) { harness in
            try await harness.install()
            // `/contacts/{locationId}/report` (spec) and `/contacts/:contactId` (table) share a trie position.
            let report = try await harness.proxy("GET", "/contacts/locSim0001/report", key: client.key)
            #expect(report.status == 200)
            #expect(await harness.simulator.state.calls.last?.owner == .location("locSim0001"))
            let contact = try await harness.proxy("GET", "/contacts/locSim0001", key: client.key)
            #expect(contact.status == 400)
            #expect(contact.body.contains("\"code\":\"location_required\""))
        }
    }

    @Test func anOperationWithoutAScopeIsRefusedAndSaysWhy() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(directory: Self.directory(), clients: ["c": client.policy(allow: ["medias.readonly"])]) { harness in
            let answer = try await harness.proxy("GET", "/brand-boards/voices/v1", key: client.key)
            #expect(answer.status == 404)
            #expect(answer.body.contains("\"code\":\"route_unknown\""))
            #expect(answer.body.contains("GET /brand-boards/voices/:id is documented by HighLevel without a scope"))
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func onlyKindsAreServedByThatKindAlone() async throws {
        let client = TestClient("c")
        let agencyClient = TestClient("agency")
        try await GatewayHarness.run(
            directory: Self.directory(),
            clients: [
                "c": client.policy(companies: ["cmpSim0001"], allow: ["locations.readonly", "contacts.readonly"]),
                "agency": agencyClient.policy(locations: [], companies: ["cmpSim0001"], allow: ["contacts.readonly"]),
            ]
        ) { harness in
            try await harness.install()
            // Agency-Only: the location names the company whose token serves it.
            let agency = try await harness.proxy("GET", "/agency-only/locSim0001/settings", key: client.key)
            #expect(agency.status == 200)
            #expect(await harness.simulator.state.calls.last?.owner == .company("cmpSim0001"))
            // Sub-Account-Only: only a location's token serves it; the company's is never used instead.
            let named = try await harness.proxy("GET", "/location-only/report?locationId=locSim0001", key: client.key)
            #expect(named.status == 200)
            #expect(await harness.simulator.state.calls.last?.owner == .location("locSim0001"))
            let callsBefore = await harness.simulator.state.calls.count
            let company = try await harness.proxy("GET", "/location-only/report?companyId=cmpSim0001", key: agencyClient.key)
            #expect(company.status == 400)
            #expect(company.body.contains("\"code\":\"location_required\""))
            #expect(await harness.simulator.state.calls.count == callsBefore)
        }
    }

    @Test(arguments: [("table", 200), ("openapi", 403)])
    func catalogPreferDecidesADisagreement(prefer: String, status: Int) async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(
            directory: Self.directory(), clients: ["c": client.policy(allow: ["contacts.readonly"])],
            extraConfiguration: "catalog:\n  prefer: \(prefer)"
        ) { harness in
            try await harness.install()
            // The table grants GET /contacts/:contactId to contacts.readonly, the spec to contacts.write.
            let answer = try await harness.proxy("GET", "/contacts/abc?locationId=locSim0001", key: client.key)
            #expect(answer.status == status)
        }
    }

    @Test func aSpecEditIsReloadedAndABrokenOneRejected() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(directory: Self.directory(), clients: ["c": client.policy(allow: ["medias.readonly"])]) { harness in
            try await harness.install()
            let store = harness.gateway.policies
            #expect(try await harness.proxy("GET", "/brand-boards/voices/v1", key: client.key).status == 404)

            try await harness.reloadingPolicies {
                harness.directory.write(
                    "policies/openapi/test.json",
                    Self.spec.replacingOccurrences(
                        of: #""/brand-boards/voices/{id}": {"get": {}}"#,
                        with: #""/brand-boards/voices/{id}": {"get": {"security": [{"Location-Access": ["medias.readonly"]}]}}"#))
            }
            #expect(store.status.rejectedIssues.isEmpty)
            #expect(try await harness.proxy("GET", "/brand-boards/voices/v1?locationId=locSim0001", key: client.key).status == 200)

            try await harness.reloadingPolicies {
                harness.directory.write("policies/openapi/test.json", "{\"paths\": {\n")
            }
            #expect(
                store.status.rejectedIssues.contains { $0.contains("test.json:2: malformed_spec: invalid JSON") }, "\(store.status.rejectedIssues)")
            #expect(try await harness.proxy("GET", "/brand-boards/voices/v1?locationId=locSim0001", key: client.key).status == 200)
        }
    }
}
