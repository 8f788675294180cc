import AsyncHTTPClient
import Foundation
import GatewayPolicy
import GatewayTestSupport
import HighLevelSimulator
import NIOCore
import Testing

/// Three `ghl-gateway serve` processes on one PostgreSQL database, HighLevel simulated: what one
/// replica does, the others see, and nothing HighLevel allows once is done twice.
@Suite("Replicas on PostgreSQL", .serialized, .load(.heavy))
struct ReplicaTests {
    /// Replicas of one configuration on one database; all killed when `body` ends, however it ends.
    /// Started one after another unless `together` (the suite shares two cores with every other test).
    private func withReplicas(
        _ count: Int, together: Bool = false, simulator configuration: SimulatorConfiguration = SimulatorConfiguration(),
        budget: String = GatewayHarness.unboundedBudget, extra: String = "", prepare: @Sendable (ServeFixture) -> Void = { _ in },
        _ body:
            @Sendable (_ simulator: HighLevelSimulator, _ fixture: ServeFixture, _ replicas: [ChildProcess], _ clients: [ProcessClient]) async throws
            -> Void
    ) async throws {
        let database = try await VaultBackend.postgres.database()
        try await HighLevelSimulator.withRunning(configuration) { simulator, simulatorURL in
            let fixture = try ServeFixture(
                simulatorURL: simulatorURL, simulator: configuration, webhookKey: WebhookSigner.shared.ed25519PublicPEM,
                database: database, budget: budget, extra: extra)
            prepare(fixture)
            var started: [(ChildProcess, [String: Int])] = []
            if together {
                started = try await withThrowingTaskGroup(of: (ChildProcess, [String: Int]).self) { group in
                    for _ in 0..<count { group.addTask { try await fixture.start() } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            } else {
                for _ in 0..<count { started.append(try await fixture.start()) }
            }
            defer { for (process, _) in started { process.signal(SIGKILL) } }
            let replicas = started
            try await body(simulator, fixture, replicas.map(\.0), replicas.map { ProcessClient(ports: $0.1) })
        }
    }

    /// A proxied contacts call for the fixture's location through `client`'s replica.
    private func call(_ client: ProcessClient, _ fixture: ServeFixture, http: HTTPClient? = nil) async throws -> Int {
        guard let http else { return try await client.callContacts(key: fixture.clientKey) }
        var request = HTTPClientRequest(url: client.url("proxy", "/contacts/abc?locationId=locSim0001"))
        request.headers.add(name: "Authorization", value: "Bearer \(fixture.clientKey)")
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    @Test func anInstallStartedOnOneReplicaCompletesOnAnother() async throws {
        // Started together: they migrate the empty database once, under the advisory lock.
        try await withReplicas(3, together: true) { _, fixture, replicas, clients in
            let install = try await clients[0].send(clients[0].url("public", "/oauth/install"))
            let consent = try await clients[0].send(try #require(install.location))
            let callback = try #require(consent.location).replacingOccurrences(of: "http://gateway.test", with: clients[1].url("public", ""))
            #expect(try await clients[1].send(callback).status == 200)
            // The state was used once: the same callback on the third replica is refused.
            #expect(try await clients[2].send(callback).status == 400)
            #expect(try await call(clients[2], fixture) == 200)
            #expect(replicas.filter { $0.text.contains("\"message\":\"database migrated\"") }.count == 1)
        }
    }

    @Test func aStormAcrossReplicasMakesOneRefreshAndTheFirstCallsOneExchange() async throws {
        try await withReplicas(3) { simulator, fixture, _, clients in
            try await clients[0].install()
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                // The first calls for the location, on every replica at once: one exchange.
                let first = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<30 { group.addTask { try await call(clients[index % 3], fixture, http: http) } }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(first.allSatisfy { $0 == 200 }, "\(first)")
                #expect(await simulator.state.exchanges == 1)

                // HighLevel drops every access token: 300 calls spread over the replicas, one refresh.
                let refreshesBefore = await simulator.state.refreshes
                await simulator.state.expireAccessTokens()
                let storm = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<300 { group.addTask { try await call(clients[index % 3], fixture, http: http) } }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(storm.filter { $0 == 200 }.count == 300, "\(Dictionary(grouping: storm) { $0 }.mapValues(\.count))")
                #expect(await simulator.state.refreshes - refreshesBefore == 1)
                try await http.shutdown()
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    @Test func aRevokeOnOneReplicaIsRefusedOnTheOthersWithinASecond() async throws {
        // Tokens are cached for 5 minutes: only the change notice can explain a refusal within a second.
        try await withReplicas(3, extra: "tokens: {cache_seconds: 300}") { _, fixture, _, clients in
            try await clients[0].install()
            for client in clients { #expect(try await call(client, fixture) == 200) }
            #expect(try await clients[0].admin("DELETE", "/tokens?location=locSim0001").status == 200)
            let revoked = ContinuousClock.now
            for client in clients[1...] {
                var status = 200
                for _ in 0..<50 where status == 200 && ContinuousClock.now - revoked < .seconds(1) {
                    status = try await call(client, fixture)
                }
                #expect(status == 403)
                #expect(ContinuousClock.now - revoked < .seconds(1))
            }
        }
    }

    @Test func oneInstallWebhookPostedToTwoReplicasIsActedOnOnce() async throws {
        try await withReplicas(2) { simulator, _, replicas, clients in
            try await clients[0].install()
            let signer = WebhookSigner.shared
            let body = try JSONSerialization.data(
                withJSONObject: [
                    "type": "INSTALL", "appId": SimulatorConfiguration().appId, "companyId": "cmpSim0001", "locationId": "locSim0002",
                    "installType": "Location", "webhookId": UUID().uuidString, "timestamp": ISO8601DateFormatter().string(from: Date()),
                ], options: [.sortedKeys])
            let headers = [("Content-Type", "application/json"), ("x-ghl-signature", signer.ed25519Signature(body))]
            async let one = clients[0].send(clients[0].url("public", "/webhooks/highlevel"), method: "POST", headers: headers, body: body)
            async let two = clients[1].send(clients[1].url("public", "/webhooks/highlevel"), method: "POST", headers: headers, body: body)
            #expect(try await [one.status, two.status] == [200, 200])
            let accepted = replicas.filter { $0.text.contains("\"message\":\"webhook accepted\"") }
            #expect(accepted.count == 1)
            // The one that acted exchanged the company token for the location's, once.
            let worker = try #require(accepted.first)
            #expect(await worker.output(contains: "location token obtained after INSTALL"))
            #expect(await simulator.state.exchanges == 1)
        }
    }

    @Test func aClientsRateLimitHoldsAcrossReplicas() async throws {
        let limited: @Sendable (ServeFixture) -> Void = { fixture in
            fixture.directory.write(
                "policies/clients/svc.yaml",
                "client: svc\nkey: \(KeyDigest(key: fixture.clientKey))\nlocations: [locSim0001]\nallow: [contacts.readonly]\nrate_limit: 10/60s\n")
        }
        try await withReplicas(2, prepare: limited) { _, fixture, replicas, clients in
            try await clients[0].install()
            // Each replica counts both, then enforces half of the limit.
            for replica in replicas { #expect(await replica.output(contains: "\"replicas\":\"2\"", timeout: .seconds(15))) }
            var statuses: [Int] = []
            for index in 0..<20 { statuses.append(try await call(clients[index % 2], fixture)) }
            #expect(statuses.filter { $0 == 200 }.count == 10, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 10)
        }
    }

    @Test func replicasShareALocationsHighLevelBudget() async throws {
        var configuration = SimulatorConfiguration()
        configuration.rateLimit = .init(burst: 10, windowSeconds: 1)
        try await withReplicas(2, simulator: configuration, budget: "  rate_limit: {burst: 10/1s}") { simulator, fixture, replicas, clients in
            try await clients[0].install()
            for replica in replicas { #expect(await replica.output(contains: "\"replicas\":\"2\"", timeout: .seconds(15))) }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                // Two seconds of calls as fast as they come, half through each replica.
                let deadline = ContinuousClock.now + .seconds(2)
                let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            var statuses: [Int] = []
                            while ContinuousClock.now < deadline, statuses.count < 500 {
                                statuses.append(try await call(clients[worker % 2], fixture, http: http))
                            }
                            return statuses
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0 += $1 }
                }
                try await http.shutdown()
                // Each replica kept half of the burst: HighLevel never saw more than its limit.
                #expect(await simulator.state.rateLimitedCalls == 0)
                #expect(statuses.filter { $0 == 200 }.count >= 10, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
            } catch {
                try? await http.shutdown()
                throw error
            }
        }
    }

    @Test func aDatabaseOutageIsNotReadyYetCachedTokensServe() async throws {
        let server = PostgresServer()
        let database = try await VaultBackend.postgres.database(on: server)
        try await HighLevelSimulator.withRunning { _, simulatorURL in
            let fixture = try ServeFixture(
                simulatorURL: simulatorURL, simulator: SimulatorConfiguration(), database: database,
                extra: "tokens: {cache_seconds: 120}\nreadiness_database_grace_seconds: 0")
            let (serve, ports) = try await fixture.start()
            defer { serve.signal(SIGKILL) }
            let client = ProcessClient(ports: ports)
            try await client.install()
            #expect(try await call(client, fixture) == 200)
            #expect(try await client.send(client.url("admin", "/readyz")).status == 200)
            // Another replica, with the default grace, is the trade-off's other side (below).
            let graceful = try ServeFixture(simulatorURL: simulatorURL, simulator: SimulatorConfiguration(), database: database)
            let (patient, patientPorts) = try await graceful.start()
            defer { patient.signal(SIGKILL) }
            let patientClient = ProcessClient(ports: patientPorts)

            try await server.stop()
            let readiness = try await client.send(client.url("admin", "/readyz"))
            #expect(readiness.status == 503)
            // With readiness_database_grace_seconds (30 by default) a blip keeps the replica ready,
            // and says so.
            let blip = try await patientClient.send(patientClient.url("admin", "/readyz"))
            #expect(blip.status == 200, "\(blip.body)")
            #expect(blip.body.contains("\"unreachableSince\"") && blip.body.contains("\"readyForSeconds\""), "\(blip.body)")
            #expect(readiness.body.contains("\"database\""), "\(readiness.body)")
            // Host, port and database name, never the configured URL with its credentials.
            #expect(readiness.body.contains("no answer from postgres://127.0.0.1:"))
            #expect(!readiness.body.contains("postgres@"))
            // The location's token is cached: calls go on while the database is away.
            #expect(try await call(client, fixture) == 200)
        }
    }

    @Test func aReplicaKilledMidRefreshLeavesTheOthersServingAndTheRowRecoverable() async throws {
        try await withReplicas(2, extra: "tokens: {renewal_lease_seconds: 2}") { simulator, fixture, replicas, clients in
            try await clients[0].install()
            #expect(try await call(clients[0], fixture) == 200)
            #expect(try await call(clients[1], fixture) == 200)
            #expect(await simulator.state.exchanges == 1)
            // HighLevel takes its time over the location token's refresh; the replica doing it dies.
            #expect(await replicas[0].killDuringRefresh(of: "location=locSim0001", through: clients[0], simulator: simulator) == -SIGKILL)
            // The other replica kept serving with the token it holds.
            #expect(try await call(clients[1], fixture) == 200)
            // Renewing takes over once the dead replica's lease lapsed: the refresh was cut off, so the
            // location token is exchanged again from the company's (its refresh token may be dead).
            let renewed = try await clients[1].admin("POST", "/tokens/refresh?location=locSim0001")
            #expect(renewed.status == 200, "\(renewed.body)")
            #expect(await simulator.state.exchanges == 2)
            let health = try await clients[1].admin("GET", "/health/tokens")
            #expect(!health.body.contains("needs_reinstall\":1"), "\(health.body)")
            #expect(try await call(clients[1], fixture) == 200)
        }
    }

    /// A replica killed mid-refresh and back under its name takes its lease back at once: its
    /// first renewal does not wait out `renewal_lease_seconds` (30 s here) and is not answered 503.
    @Test func aReplicaRestartedUnderItsNameTakesBackItsLeaseAtOnce() async throws {
        try await withReplicas(1) { simulator, fixture, replicas, clients in
            let (first, ports) = try await fixture.start(replica: "replica-a")
            defer { first.signal(SIGKILL) }
            let client = ProcessClient(ports: ports)
            try await client.install()
            #expect(try await call(client, fixture) == 200)
            #expect(await first.killDuringRefresh(of: "location=locSim0001", through: client, simulator: simulator) == -SIGKILL)

            let (second, restartedPorts) = try await fixture.start(replica: "replica-a")
            defer { second.signal(SIGKILL) }
            #expect(await second.output(contains: "\"leasesTakenBack\":\"1\""), "\(second.text)")
            let restarted = ProcessClient(ports: restartedPorts)
            let started = ContinuousClock.now
            let renewed = try await restarted.admin("POST", "/tokens/refresh?location=locSim0001")
            #expect(renewed.status == 200, "\(renewed.body)")
            #expect(ContinuousClock.now - started < .seconds(20), "the dead incarnation's lease was not waited out")
            #expect(await simulator.state.exchanges == 2)
            #expect(await simulator.state.refreshTokenReuses == 0)
            #expect(try await call(clients[0], fixture) == 200)
            _ = replicas
        }
    }

    /// A replica killed while a subscriber holds its delivery and back under its name delivers it
    /// at once, not after its claim lapses (`delivery_timeout_seconds × 2 + 30`, 150 s here).
    @Test func aReplicaRestartedUnderItsNameDeliversWhatItHadClaimedAtOnce() async throws {
        try await WebhookSubscriber.withRunning { subscriber, subscriberURL in
            try await withReplicas(0, extra: "webhooks: {delivery_timeout_seconds: 60}", prepare: { $0.subscribeCRM(to: subscriberURL) }) {
                _, fixture, _, _ in
                subscriber.hold(1)
                let (first, ports) = try await fixture.start(replica: "replica-a")
                defer { first.signal(SIGKILL) }
                let (status, body) = try await ProcessClient(ports: ports).postContactCreate()
                #expect(status == 200)
                // The delivery is under way (claimed), and the subscriber does not answer: the replica dies.
                await subscriber.wait(after: 0)
                first.signal(SIGKILL)
                #expect(await first.exit() == -SIGKILL)

                let (second, _) = try await fixture.start(replica: "replica-a")
                defer { second.signal(SIGKILL) }
                #expect(await second.output(contains: "\"claimsTakenBack\":\"1\""), "\(second.text)")
                try await withTimeout(.seconds(20)) { await subscriber.wait(after: 1) }
                #expect(subscriber.received.map(\.body) == [body, body])
            }
        }
    }
}
