import AsyncHTTPClient
import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Synchronization
import Testing

/// HighLevel's limits per location, kept by the gateway, against a simulator that enforces a
/// sliding window and a daily budget and reports them in HighLevel's headers. Its floods count
/// what a window lets through in real time, so it runs apart from the heavy suites (the fuzz
/// build, PostgreSQL, replica processes), which on two cores slowed a flood below its window.
@Suite("HighLevel's budget per location", .serialized, .load(.timed))
struct UpstreamBudgetTests {
    static let greedy = TestClient("greedy")
    static let modest = TestClient("modest")

    private static func simulator(burst: Int, windowSeconds: Double, daily: Int = 1_000_000) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        configuration.rateLimit = .init(burst: burst, windowSeconds: windowSeconds, daily: daily)
        return configuration
    }

    /// What each call came to: HighLevel's answer, or the gateway's refusal, and when.
    private struct Outcome: Sendable {
        var status: Int
        var local: Bool
        var startedAt: ContinuousClock.Instant
        var answeredAt = ContinuousClock.now
    }

    /// Set once, read by the flood's workers.
    private final class Flag: Sendable {
        private let value = Atomic(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    private static func call(
        _ harness: GatewayHarness, _ client: TestClient, location: String = "locSim0001", through http: HTTPClient? = nil
    ) async throws -> Outcome {
        let started = ContinuousClock.now
        let path = "/contacts/x?locationId=\(location)"
        let status: Int
        let body: String
        if let http {
            var request = HTTPClientRequest(url: harness.proxyURL + path)
            request.headers.add(name: "Authorization", value: "Bearer \(client.key)")
            let response = try await http.execute(request, timeout: .seconds(10))
            status = Int(response.status.code)
            body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        } else {
            let answer = try await harness.proxy("GET", path, key: client.key)
            (status, body) = (answer.status, answer.body)
        }
        return Outcome(status: status, local: body.contains("upstream_rate_limited"), startedAt: started)
    }

    /// `workers` loops calling as fast as answers come, until `deadline`, each client on HTTP
    /// connections of its own (a shared client pool would queue one client behind the other).
    private static func flood(
        _ harness: GatewayHarness, _ client: TestClient, workers: Int, until deadline: ContinuousClock.Instant
    ) async throws -> [Outcome] {
        try await flood(harness, client, workers: workers) { ContinuousClock.now < deadline }
    }

    /// `workers` loops calling as fast as answers come, while `going` says so.
    private static func flood(
        _ harness: GatewayHarness, _ client: TestClient, workers: Int, while going: @escaping @Sendable () -> Bool
    ) async throws -> [Outcome] {
        try await withHTTPClient { http in
            try await withThrowingTaskGroup(of: [Outcome].self) { group in
                for _ in 0..<workers {
                    group.addTask {
                        var outcomes: [Outcome] = []
                        while going(), outcomes.count < 1_000 {
                            outcomes.append(try await call(harness, client, through: http))
                        }
                        return outcomes
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
        }
    }

    private static func withHTTPClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(http)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    @Test func aModestClientGoesAheadOfAGreedyOnesQueueAndHighLevelSaysNoTooMany() async throws {
        let clients = [
            "greedy": Self.greedy.policy(allow: ["contacts.readonly"]), "modest": Self.modest.policy(allow: ["contacts.readonly"]),
        ]
        try await GatewayHarness.run(
            Self.simulator(burst: 10, windowSeconds: 1), clients: clients, extraConfiguration: "upstream: {queue_seconds: 2}",
            highlevelConfiguration: "rate_limit: {burst: 10/1s}"
        ) { harness in
            try await harness.install()
            let waiting: Set<String> = ["waiting for HighLevel's budget"]
            let modestDone = Flag()
            let limit = ContinuousClock.now + .seconds(30)
            async let greedy = Self.flood(harness, Self.greedy, workers: 12) { !modestDone.isSet && ContinuousClock.now < limit }
            // The greedy client took the first window and queues (more than its twelve workers have waited).
            try await harness.logs.wait(for: waiting, after: 12)
            let modest = try await Self.withHTTPClient { http in
                // Two calls a second, each when the one before was answered and half a second passed.
                var modest: [Outcome] = []
                for _ in 0..<5 {
                    let next = ContinuousClock.now + .milliseconds(500)
                    modest.append(try await Self.call(harness, Self.modest, through: http))
                    try await Task.sleep(until: next)
                }
                return modest
            }
            modestDone.set()
            let flooded = try await greedy
            #expect(await harness.simulator.state.rateLimitedCalls == 0, "HighLevel never answered 429")
            #expect(modest.allSatisfy { $0.status == 200 }, "\(modest.map(\.status))")
            // Each modest call went ahead of the greedy calls that were already waiting: in arrival
            // order it would have been answered after all of them (none overtaken). Counted by order,
            // not by time, so a slow machine changes nothing.
            let overtaken = modest.map { call in
                flooded.filter { $0.startedAt < call.startedAt && $0.answeredAt > call.answeredAt }.count
            }
            #expect(overtaken.allSatisfy { $0 >= 3 }, "greedy calls overtaken by each modest call: \(overtaken)")
            #expect(flooded.filter { $0.status == 200 }.count >= 10)
            #expect(flooded.allSatisfy { $0.status == 200 || $0.local })
        }
    }

    @Test func weightsDivideTheBudget() async throws {
        let heavy = TestClient("heavy")
        let clients = [
            "heavy": heavy.policy(allow: ["contacts.readonly"]) + "\nupstream_share: 2\n",
            "greedy": Self.greedy.policy(allow: ["contacts.readonly"]),
        ]
        try await GatewayHarness.run(
            Self.simulator(burst: 12, windowSeconds: 1), clients: clients, extraConfiguration: "upstream: {queue_seconds: 2}",
            highlevelConfiguration: "rate_limit: {burst: 12/1s}"
        ) { harness in
            try await harness.install()
            let started = ContinuousClock.now
            let deadline = started + .seconds(5)
            async let heavier = Self.flood(harness, heavy, workers: 8, until: deadline)
            let lighter = try await Self.flood(harness, Self.greedy, workers: 8, until: deadline)
            // Once both queue (the first window went to whoever came first, as on an idle location):
            // share 2 against share 1, about two thirds of the budget (2.0 measured alone; the
            // bounds leave room for a loaded machine and still tell it from equal shares, 1.0).
            func served(_ outcomes: [Outcome]) -> Int { outcomes.filter { $0.status == 200 && $0.answeredAt > started + .seconds(1.5) }.count }
            let (twice, once) = (served(try await heavier), served(lighter))
            #expect(Double(twice) / Double(max(1, once)) > 1.4, "\(twice) vs \(once)")
            #expect(Double(twice) / Double(max(1, once)) < 2.5, "\(twice) vs \(once)")
            #expect(await harness.simulator.state.rateLimitedCalls == 0)
        }
    }

    @Test func aLowerLimitThanConfiguredIsLearnedFromHighLevelsHeaders() async throws {
        try await GatewayHarness.run(
            Self.simulator(burst: 5, windowSeconds: 1), clients: ["greedy": Self.greedy.policy(allow: ["contacts.readonly"])],
            extraConfiguration: "upstream: {queue_seconds: 2}", highlevelConfiguration: "rate_limit: {burst: 20/1s}"
        ) { harness in
            try await harness.install()
            let outcomes = try await Self.flood(harness, Self.greedy, workers: 8, until: ContinuousClock.now + .seconds(2.5))
            // HighLevel's X-RateLimit-Max (5) and Remaining are learned from the first answers: at most
            // the first burst's overshoot reaches HighLevel, however long the flood goes on.
            let upstream429 = await harness.simulator.state.rateLimitedCalls
            #expect(upstream429 <= 3, "\(upstream429) 429s from HighLevel")
            #expect(outcomes.filter { $0.status == 200 }.count >= 10)
            let quota = try await harness.admin("GET", "/health/quota")
            #expect(quota.status == 200)
            #expect(quota.body.contains("\"burst\":5,"), "\(quota.body)")
            #expect(quota.body.contains("\"highLevelRemaining\":"))
        }
    }

    @Test func aSpentDayIsRefusedLocallyAndOtherLocationsGoOn() async throws {
        let both = TestClient("both")
        try await GatewayHarness.run(
            Self.simulator(burst: 100, windowSeconds: 10, daily: 3),
            clients: ["both": both.policy(locations: ["locSim0001", "locSim0002"], allow: ["contacts.readonly"])]
        ) { harness in
            try await harness.install()
            for _ in 0..<3 { #expect(try await Self.call(harness, both).status == 200) }
            let quota = try await harness.admin("GET", "/health/quota")
            #expect(quota.body.contains("\"clients\":{\"both\":3}"), "\(quota.body)")
            #expect(quota.body.contains("\"highLevelDailyRemaining\":0"))
            // HighLevel's last answer said no daily budget is left: the gateway answers itself.
            let calls = await harness.simulator.state.calls.count
            let refused = try await harness.proxy("GET", "/contacts/x?locationId=locSim0001", key: both.key)
            #expect(refused.status == 429)
            #expect(refused.body.contains("\"code\":\"upstream_rate_limited\""))
            #expect(refused.body.contains("daily budget"))
            #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 30)
            #expect(await harness.simulator.state.calls.count == calls)
            #expect(await harness.simulator.state.rateLimitedCalls == 0)
            // Another location has its own budget.
            #expect(try await Self.call(harness, both, location: "locSim0002").status == 200)
            let metrics = try await harness.admin("GET", "/metrics", token: nil).body
            #expect(metrics.contains("ghl_gateway_upstream_budget_refusals_total{client=\"both\"} 1"), "\(metrics)")
            // The spent location has metrics of its own; the other, far from its limits, has none.
            #expect(metrics.contains("ghl_gateway_upstream_daily_remaining{location=\"location:locSim0001\"} 0"), "\(metrics)")
            #expect(!metrics.contains("location:locSim0002"))
        }
    }

    @Test func aCallerThatGoesAwayLeavesTheQueue() async throws {
        let waiting: Set<String> = ["waiting for HighLevel's budget"]
        let left: Set<String> = ["the caller went away; it left the queue for HighLevel's budget"]
        try await GatewayHarness.run(
            clients: ["greedy": Self.greedy.policy(allow: ["contacts.readonly"])], extraConfiguration: "upstream: {queue_seconds: 20}",
            highlevelConfiguration: "rate_limit: {burst: 2/10s}"
        ) { harness in
            try await harness.install()
            for _ in 0..<2 { #expect(try await Self.call(harness, Self.greedy).status == 200) }
            let calls = await harness.simulator.state.calls.count
            // A caller that gives up after a second, while its request waits for room.
            let request = "GET /contacts/x?locationId=locSim0001 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer \(Self.greedy.key)\r\n\r\n"
            let answer = await RawHTTP.exchange(port: harness.proxyPort, request, timeout: 1)
            #expect(answer.isEmpty)
            #expect(harness.logs.count(waiting) == 1)
            try await harness.logs.wait(for: left, after: 0, within: .seconds(5))
            let quota = try await harness.admin("GET", "/health/quota")
            #expect(quota.body.contains("\"queued\":0"), "\(quota.body)")
            #expect(await harness.simulator.state.calls.count == calls)
        }
    }
}
