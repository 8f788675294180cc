import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

@Suite("Upstream faults")
struct UpstreamFaultTests {
    static let client = TestClient("svc")
    static let clients = ["svc": client.policy(allow: ["contacts.readonly"])]

    @Test func errorsAndRateLimitsPassThroughUnchanged() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            for status in [500, 502, 503, 429] {
                await harness.simulator.state.failNextCalls(1, with: .status(status, headers: status == 429 ? ["Retry-After": "7"] : [:]))
                let answer = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
                #expect(answer.status == status)
                #expect(answer.body == "{\"message\":\"simulated failure\",\"statusCode\":\(status)}")
                if status == 429 { #expect(answer.headers["retry-after"] == "7") }
            }
            #expect(try await harness.proxy("GET", "/contacts/a", key: Self.client.key).status == 200)
        }
    }

    @Test func aResetMidResponseDoesNotHurtTheGateway() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            await harness.simulator.state.failNextCalls(1, with: .resetMidBody(after: 11))
            // The answer broke off before the gateway sent anything: the caller gets a clean 502.
            let broken = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
            #expect(broken.status == 502)
            #expect(broken.body.contains("\"code\":\"upstream_unreachable\""))
            #expect(broken.body.contains("HighLevel's answer broke off"))
            // A long answer is already streaming to the caller when it breaks off: the caller's answer is cut too.
            await harness.simulator.state.failNextCalls(1, with: .resetMidBody(after: 1024 * 1024))
            await #expect(throws: (any Error).self) {
                _ = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
            }
            for _ in 0..<5 { #expect(try await harness.proxy("GET", "/contacts/b", key: Self.client.key).status == 200) }
        }
    }
}
