import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// Every listener bounds what a client may hold (issue 18): a head never finished, a keep-alive
/// left idle, a body trickled, connections past the cap, requests past the per-connection limit;
/// and an answer that streams for longer than the idle timeout is not cut.
@Suite("Listener: timeouts and limits on real sockets")
struct ConnectionLimitsTests {
    /// Tight limits on the public listener only, which these tests reach with raw sockets; the
    /// harness's own clients (admin, install) keep the defaults, so a loaded machine cannot trip them.
    static let tight = """
        limits:
          public:
            head_timeout_seconds: 0.3
            idle_timeout_seconds: 0.3
            body_timeout_seconds: 0.3
            min_body_bytes_per_second: 1000
            max_requests_per_connection: 2
        """

    private func port(_ url: String) -> Int { URL(string: url)!.port! }

    private func closedCount(_ harness: GatewayHarness, listener: String, reason: String) async throws -> Int {
        let metrics = try await harness.get(harness.adminURL + "/metrics").body
        let line = metrics.split(separator: "\n").first {
            $0.hasPrefix("ghl_gateway_connections_closed_total{") && $0.contains("listener=\"\(listener)\"") && $0.contains("reason=\"\(reason)\"")
        }
        return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
    }

    @Test func aStalledHeadIsClosed() async throws {
        try await GatewayHarness.run(extraConfiguration: Self.tight) { harness in
            let connection = try #require(RawConnection(port: port(harness.publicURL)))
            connection.send("GET /oauth/install HTTP/1.1\r\nHost: x\r\n")
            let (text, closed) = await connection.readUntilClosed(timeout: 10)
            #expect(closed)
            #expect(text.isEmpty)
            #expect(try await closedCount(harness, listener: "public", reason: "head_timeout") == 1)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosed() async throws {
        try await GatewayHarness.run(extraConfiguration: Self.tight) { harness in
            let connection = try #require(RawConnection(port: port(harness.publicURL)))
            connection.send("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")
            let (answer, closedEarly) = await connection.read(until: "\r\n\r\n", timeout: 5)
            #expect(answer.hasPrefix("HTTP/1.1 404"))
            #expect(!closedEarly)
            let (_, closed) = await connection.readUntilClosed(timeout: 10)
            #expect(closed)
            #expect(try await closedCount(harness, listener: "public", reason: "idle_timeout") == 1)
        }
    }

    @Test func aTrickledBodyIsClosed() async throws {
        try await GatewayHarness.run(extraConfiguration: Self.tight) { harness in
            let connection = try #require(RawConnection(port: port(harness.publicURL)))
            connection.send("POST /webhooks/highlevel HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
            let (_, closed) = await connection.readUntilClosed(timeout: 10)
            #expect(closed)
            #expect(try await closedCount(harness, listener: "public", reason: "slow_body") == 1)
        }
    }

    @Test func connectionsOverTheCapAreClosedAtOnceAndTheListenerRecovers() async throws {
        try await GatewayHarness.run(
            extraConfiguration: """
                limits:
                  public:
                    max_connections: 2
                """
        ) { harness in
            let publicPort = port(harness.publicURL)
            let held = [RawConnection(port: publicPort), RawConnection(port: publicPort)]
            for connection in held {
                try #require(connection).send("GET /healthz-nothing HTTP/1.1\r\nHost: x\r\n\r\n")
                _ = await connection?.read(until: "\r\n\r\n", timeout: 5)
            }
            let refused = try #require(RawConnection(port: publicPort))
            let (text, closed) = await refused.readUntilClosed(timeout: 15)
            #expect(closed)
            #expect(text.isEmpty)
            #expect(try await closedCount(harness, listener: "public", reason: "over_capacity") >= 1)
            // The other listeners are not affected.
            #expect(try await harness.get(harness.adminURL + "/healthz").status == 200)
            _ = held
        }
    }

    @Test func theLastRequestOfAConnectionIsAnsweredWithConnectionClose() async throws {
        try await GatewayHarness.run(extraConfiguration: Self.tight) { harness in
            let connection = try #require(RawConnection(port: port(harness.publicURL)))
            let request = "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
            connection.send(request + request + request)
            let (text, closed) = await connection.readUntilClosed(timeout: 15)
            #expect(closed)
            #expect(text.components(separatedBy: "HTTP/1.1 404").count - 1 == 2)
            #expect(text.lowercased().contains("connection: close"))
            #expect(try await closedCount(harness, listener: "public", reason: "max_requests") == 1)
        }
    }

    @Test func anAnswerStreamingLongerThanTheIdleTimeoutIsNotCut() async throws {
        let client = TestClient("streamer")
        let idle = """
            limits:
              proxy:
                idle_timeout_seconds: 0.3
            """
        try await GatewayHarness.run(clients: ["streamer": client.policy(allow: ["contacts.readonly"])], extraConfiguration: idle) { harness in
            try await harness.install()
            await harness.simulator.state.failNextCalls(1, with: .slowStream(chunks: 12, every: .milliseconds(100)))
            let started = ContinuousClock.now
            let answer = try await harness.proxy("GET", "/contacts/abc?locationId=locSim0001", key: client.key)
            #expect(answer.status == 200)
            #expect(answer.body == String(repeating: "x", count: 12))
            #expect(ContinuousClock.now - started > .milliseconds(600))
        }
    }
}
