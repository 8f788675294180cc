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
            // (A 429 also pauses the location: `anUpstream429PausesItsLocationForTheIntervalItNames`.)
            for status in [500, 502, 503] {
                await harness.simulator.state.failNextCalls(1, with: .status(status, headers: status == 429 ? ["Retry-After": "7"] : [:]))
                let answer = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
                #expect(answer.status == status)
                #expect(answer.body == "{\"message\":\"simulated failure\",\"statusCode\":\(status)}")
                if status == 429 { #expect(answer.headers["retry-after"] == "7") }
            }
            #expect(try await harness.proxy("GET", "/contacts/a", key: Self.client.key).status == 200)
        }
    }

    @Test func anUpstream429PausesItsLocationForTheIntervalItNames() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: Self.client.key).status == 200)
            await harness.simulator.state.failNextCalls(1, with: .status(429, headers: ["Retry-After": "7"]))
            let limited = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
            #expect(limited.status == 429)
            #expect(limited.body == "{\"message\":\"simulated failure\",\"statusCode\":429}")
            #expect(limited.headers["retry-after"] == "7")
            // HighLevel asked for 7 s: the next call is answered here, without reaching it.
            let calls = await harness.simulator.state.calls.count
            let paused = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
            #expect(paused.status == 429)
            #expect(paused.body.contains("\"code\":\"upstream_rate_limited\""))
            #expect(Int(paused.headers["retry-after"] ?? "") ?? 0 >= 4)
            #expect(await harness.simulator.state.calls.count == calls)
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

    @Test func aPooledConnectionHighLevelDroppedIsRetriedOnceOnAFreshOne() async throws {
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(directory: directory, clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: Self.client.key).status == 200)
        }
        // The same vault; HighLevel is now a server that drops each connection on its second request.
        let upstream = try await ScriptedUpstream.start(droppingSecondRequests: true)
        try await GatewayHarness.run(directory: directory, clients: Self.clients, upstreamURL: "http://127.0.0.1:\(upstream.port)") { harness in
            let first = try await harness.proxy("GET", "/contacts/a", key: Self.client.key)
            #expect(first.status == 200)
            #expect(first.body == #"{"connection":1,"request":1}"#)
            // Sent on the pooled connection, dropped there, answered on a new one.
            let second = try await harness.proxy("GET", "/contacts/b", key: Self.client.key)
            #expect(second.status == 200)
            #expect(second.body == #"{"connection":2,"request":1}"#)
            #expect((upstream.connections, upstream.answered, upstream.dropped) == (2, 2, 1))
        }
        try await upstream.stop()
    }
}
