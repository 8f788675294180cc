import Foundation
import GatewayTestSupport
import Testing

/// The official Python SDK (`pip install gohighlevel-api-client`) used unchanged against the gateway.
@Suite("Official HighLevel Python SDK through the gateway")
struct OfficialSDKTests {
    static let sdkInstalled = ChildProcess.exitStatus("/usr/bin/env", ["python3", "-c", "import highlevel"]) == 0

    @Test(.enabled(if: sdkInstalled, "the SDK is not installed: pip install gohighlevel-api-client"))
    func aContactsCallArrivesWithTheLocationsRealToken() async throws {
        let client = TestClient("python-sdk")
        try await GatewayHarness.run(clients: ["sdk": client.policy(locations: ["*"], allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let output = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", GatewayHarness.repositoryRoot + "/scripts/sdk_contacts_call.py", harness.proxyURL, client.key,
                    "locSim0002", "contact-42",
                ])
            #expect(output.status == 0, "\(output.text)")
            let call = try #require(await harness.simulator.state.calls.last)
            #expect(call.path == "/contacts/contact-42")
            #expect(call.owner == .location("locSim0002"))
            let stored = try #require(try await harness.gateway.vault.token(for: .location("locSim0002")))
            #expect(call.accessToken == stored.accessToken.revealed)
            #expect(call.version == "v3")
            #expect(!call.headers.contains { $0.value.contains(client.key) })
        }
    }
}
