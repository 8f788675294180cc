import Foundation
import GatewayPolicy
import HighLevelSimulator
import Synchronization

/// `kill -9` at seeded random and aimed moments, against `ghl-gateway serve` processes under steady
/// proxied load: one on SQLite, or three replicas on a private PostgreSQL. Each kill is followed
/// by a restart under the same replica name. At the end it checks what the gateway promises:
/// every installation still answers 200 and renews, no refresh token was presented twice, every
/// event HighLevel got a 200 for was delivered, and the database is consistent.
///
/// Aimed moments hold the work in flight at the simulator or the subscriber and kill then: a
/// location's refresh (HighLevel rotates as the process dies), an exchange (after HighLevel refused
/// a refresh token), a delivery (the subscriber has it, unanswered), an INSTALL (killed as it is
/// being stored). Company tokens are never renewed here: they have no second copy (docs/operations.md, "Tokens").
package struct CrashCampaign: Sendable {
    package enum Moment: String, CaseIterable, Sendable {
        case random, refresh, exchange, delivery, install
    }

    package struct Report: Sendable, CustomStringConvertible {
        package var store: String
        package var kills: [Moment: Int] = [:]
        package var callsAnswered = 0
        package var callsFailed = 0
        package var eventsAcknowledged = 0
        package var eventsDelivered = 0
        package var refreshTokenReuses = 0
        package var unhealthyLocations: [String] = []
        package var databaseProblems: [String] = []
        package var seconds = 0.0

        package var description: String {
            let moments = Moment.allCases.map { "\($0.rawValue)=\(kills[$0, default: 0])" }.joined(separator: " ")
            return "crash campaign \(store): \(kills.values.reduce(0, +)) kills (\(moments)) in \(Int(seconds)) s; "
                + "calls during the run: \(callsAnswered) answered 200, \(callsFailed) not (process down or restarting); "
                + "events acknowledged \(eventsAcknowledged), delivered \(eventsDelivered); refresh tokens presented twice "
                + "\(refreshTokenReuses); installations lost \(unhealthyLocations.count); database problems \(databaseProblems.count)"
        }
    }

    package let replicas: Int
    package let kills: Int
    package let seed: UInt64
    static let locations = ["locSim0001", "locSim0002"]

    /// One replica runs on SQLite, more on PostgreSQL.
    package init(replicas: Int, kills: Int, seed: UInt64) {
        self.replicas = replicas
        self.kills = kills
        self.seed = seed
    }

    package func run() async throws -> Report {
        let database: VaultDatabase? = replicas > 1 ? try await VaultBackend.postgres.database() : nil
        let started = ContinuousClock.now
        var report = try await HighLevelSimulator.withRunning { simulator, simulatorURL in
            try await WebhookSubscriber.withRunning { subscriber, subscriberURL in
                var report = Report(store: database == nil ? "SQLite, 1 process" : "PostgreSQL, \(replicas) replicas")
                let fixture = try ServeFixture(
                    simulatorURL: simulatorURL, simulator: SimulatorConfiguration(), webhookKey: WebhookSigner.shared.ed25519PublicPEM,
                    database: database,
                    extra: "webhooks: {delivery_timeout_seconds: 5, delivery_retry_seconds: [1, 1, 2, 4, 8, 16]}\n"
                        + "tokens: {renewal_lease_seconds: 3}")
                Self.writePolicies(fixture, subscriberURL: subscriberURL)
                let cluster = Cluster(fixture: fixture)
                defer { cluster.killAll() }
                for index in 0..<replicas { try await cluster.start(index) }
                try await cluster.client(0).install()
                for location in Self.locations { _ = try await cluster.call(0, location) }

                let load = Load()
                let traffic = Task { await load.run(cluster, seed: seed) }
                let acknowledged = Ledger()
                var rng = SplitMix64(seed: seed)
                for round in 0..<kills {
                    let moment = Moment.allCases[Int(rng.next() % UInt64(Moment.allCases.count))]
                    let victim = Int(rng.next() % UInt64(replicas))
                    let location = Self.locations[Int(rng.next() % UInt64(Self.locations.count))]
                    let pause = Duration.milliseconds(Int64(rng.next() % 200))
                    let inFlight: Task<Void, Never>
                    do {
                        inFlight = try await aim(
                            moment, at: cluster.client(victim), location: location, pause: pause, simulator: simulator,
                            subscriber: subscriber, acknowledged: acknowledged)
                    } catch {
                        let health = try? await cluster.client(victim).admin("GET", "/health/tokens?location=\(location)").body
                        throw Failure(
                            description: "round \(round), \(moment) of \(location) on replica \(victim): \(error); \(health ?? "-"); "
                                + cluster.log(victim).split(separator: "\n").filter { !$0.contains("\"message\":\"request\"") }
                                .suffix(30).joined(separator: "\n"))
                    }
                    await cluster.kill(victim)
                    await inFlight.value
                    try await cluster.start(victim)
                    report.kills[moment, default: 0] += 1
                }
                traffic.cancel()
                await traffic.value
                (report.callsAnswered, report.callsFailed) = load.counts

                report.unhealthyLocations = try await unhealthyLocations(cluster)
                report.refreshTokenReuses = await simulator.state.refreshTokenReuses
                let expected = acknowledged.ids
                report.eventsAcknowledged = expected.count
                report.eventsDelivered = try await delivered(expected, subscriber: subscriber)
                report.databaseProblems = try await Self.problems(fixture: fixture, database: database)
                return report
            }
        }
        report.seconds = Double((ContinuousClock.now - started).components.seconds)
        return report
    }

    /// Starts the work `moment` aims at on the victim and returns when the kill should come, with
    /// the requests still in flight (they end when the process dies).
    private func aim(
        _ moment: Moment, at client: ProcessClient, location: String, pause: Duration, simulator: HighLevelSimulator,
        subscriber: WebhookSubscriber, acknowledged: Ledger
    ) async throws -> Task<Void, Never> {
        let state = simulator.state
        // A refresh a killed process left at HighLevel ends first, so it cannot take this round's fault.
        let received = await state.count(.receivedRefreshes)
        try await withTimeout(.seconds(20)) { await state.wait(for: .completedRefreshes, after: received - 1) }
        let renewals = await state.count(.receivedRenewals)
        switch moment {
        case .random:
            let work = Task {
                async let renewal = try? client.admin("POST", "/tokens/refresh?location=\(location)")
                async let event: Void = Self.postEvent(to: client, acknowledged: acknowledged)
                _ = await (renewal, event)
            }
            try? await Task.sleep(for: pause)
            return work
        case .refresh, .exchange:
            // An exchange follows HighLevel's refusal of the refresh token (or comes at once when the
            // location's last refresh was cut off).
            let exchanges = await state.count(.receivedExchanges)
            if moment == .exchange { await state.failNextRefreshes(1, with: .invalidGrant) }
            await state.delayNextRefreshes(1, by: .milliseconds(400))
            await state.delayNextExchanges(1, by: .milliseconds(400))
            let work = Task { _ = try? await client.admin("POST", "/tokens/refresh?location=\(location)") }
            try await withTimeout(.seconds(20)) {
                if moment == .exchange {
                    await state.wait(for: .receivedExchanges, after: exchanges)
                } else {
                    await state.wait(for: .receivedRenewals, after: renewals)
                }
            }
            return work
        case .delivery:
            subscriber.hold(1)
            let arrived = subscriber.received.count
            await Self.postEvent(to: client, acknowledged: acknowledged)
            try await withTimeout(.seconds(20)) { await subscriber.wait(after: arrived) }
            return Task {}
        case .install:
            let work = Task { await Self.postInstall(to: client, location: location) }
            try? await Task.sleep(for: pause / 10)
            return work
        }
    }

    /// A ContactCreate for locSim0001 (the subscriber's location); remembered when HighLevel would get 200.
    private static func postEvent(to client: ProcessClient, acknowledged: Ledger) async {
        let id = UUID().uuidString
        if (try? await client.postContactCreate(webhookId: id))?.status == 200 { acknowledged.add(id) }
    }

    private static func postInstall(to client: ProcessClient, location: String) async {
        let body = try! JSONSerialization.data(
            withJSONObject: [
                "type": "INSTALL", "installType": "Location", "locationId": location, "companyId": "cmpSim0001",
                "webhookId": UUID().uuidString, "appId": SimulatorConfiguration().appId,
                "timestamp": ISO8601DateFormatter().string(from: Date()),
            ], options: [.sortedKeys])
        _ = await post(body, to: client)
    }

    private static func post(_ body: Data, to client: ProcessClient) async -> Int? {
        let headers = [("Content-Type", "application/json"), ("x-ghl-signature", WebhookSigner.shared.ed25519Signature(body))]
        return try? await client.send(client.url("public", "/webhooks/highlevel"), method: "POST", headers: headers, body: body).status
    }

    /// Locations that do not answer 200 through every replica, or cannot be renewed.
    private func unhealthyLocations(_ cluster: Cluster) async throws -> [String] {
        var unhealthy: [String] = []
        for location in Self.locations {
            var healthy = try await cluster.client(0).admin("POST", "/tokens/refresh?location=\(location)").status == 200
            for replica in 0..<replicas {
                if try await cluster.call(replica, location) != 200 { healthy = false }
            }
            if !healthy { unhealthy.append(location) }
        }
        return unhealthy
    }

    /// How many of `expected` reached the subscriber with an answer, waiting up to a minute for the
    /// retries after the last restart.
    private func delivered(_ expected: Set<String>, subscriber: WebhookSubscriber) async throws -> Int {
        func ids() -> Set<String> {
            Set(
                subscriber.received.filter { !$0.held }.compactMap { received in
                    (try? JSONSerialization.jsonObject(with: received.body) as? [String: Any])?["webhookId"] as? String
                })
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !expected.isSubset(of: ids()), ContinuousClock.now < deadline {
            let arrived = subscriber.received.count
            try? await withTimeout(deadline - ContinuousClock.now) { await subscriber.wait(after: arrived) }
        }
        return expected.intersection(ids()).count
    }

    /// What a consistent vault never holds.
    private static func problems(fixture: ServeFixture, database: VaultDatabase?) async throws -> [String] {
        let orphans = [
            "SELECT COUNT(*) FROM webhook_deliveries d WHERE NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.webhook_id = d.webhook_id)",
            "SELECT COUNT(*) FROM tokens t WHERE NOT EXISTS (SELECT 1 FROM installations i WHERE i.kind = t.kind AND i.owner_id = t.owner_id)",
            "SELECT COUNT(*) FROM installations WHERE status = 'needs_reinstall'",
        ]
        var problems: [String] = []
        if let database {
            for query in orphans {
                if try await database.strings("SELECT CAST((\(query)) AS TEXT)") != ["0"] { problems.append(query) }
            }
        } else {
            let sqlite = try TestDatabase(path: fixture.directory.file("gateway.sqlite"))
            let check = try sqlite.integrityCheck()
            if check != "ok" { problems.append("integrity_check: \(check)") }
            for query in orphans {
                if try sqlite.strings("SELECT CAST((\(query)) AS TEXT)") != ["0"] { problems.append(query) }
            }
        }
        return problems
    }

    private static func writePolicies(_ fixture: ServeFixture, subscriberURL: String) {
        fixture.directory.write(
            "policies/clients/svc.yaml",
            "client: svc\nkey: \(KeyDigest(key: fixture.clientKey))\nlocations: [\(locations.joined(separator: ", "))]\nallow: [contacts.readonly]\n")
        fixture.subscribeCRM(to: subscriberURL)
    }

    /// The running replicas, each restarted under its own name; read by the load while kills happen.
    final class Cluster: Sendable {
        let fixture: ServeFixture
        private let running = Mutex<[Int: (process: ChildProcess, ports: [String: Int])]>([:])

        init(fixture: ServeFixture) { self.fixture = fixture }

        func start(_ index: Int) async throws {
            let started = try await fixture.start(replica: "crash-replica-\(index)")
            running.withLock { $0[index] = started }
        }

        func kill(_ index: Int) async {
            guard let process = running.withLock({ $0.removeValue(forKey: index)?.process }) else { return }
            process.signal(SIGKILL)
            _ = await process.exit()
        }

        func killAll() {
            for (process, _) in running.withLock({ $0.values }) { process.signal(SIGKILL) }
        }

        func client(_ index: Int) throws -> ProcessClient {
            guard let ports = running.withLock({ $0[index]?.ports }) else { throw TimedOut(limit: .zero) }
            return ProcessClient(ports: ports)
        }

        var live: [Int] { running.withLock { Array($0.keys) } }

        /// What replica `index` logged since it last started.
        func log(_ index: Int) -> String { running.withLock { $0[index]?.process.text } ?? "" }

        /// A proxied contacts call for `location` through replica `index`: its status, nil when no answer.
        func call(_ index: Int, _ location: String) async throws -> Int? {
            try? await client(index).callContacts(key: fixture.clientKey, location: location)
        }
    }

    /// Why a round could not aim its kill.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The events HighLevel got a 200 for.
    final class Ledger: Sendable {
        private let state = Mutex<Set<String>>([])
        var ids: Set<String> { state.withLock { $0 } }
        func add(_ id: String) { state.withLock { _ = $0.insert(id) } }
    }

    /// Steady proxied calls to live replicas, one every 25 ms (paced, not synchronised).
    final class Load: Sendable {
        private let tally = Mutex((answered: 0, failed: 0))
        var counts: (Int, Int) { tally.withLock { ($0.answered, $0.failed) } }

        func run(_ cluster: Cluster, seed: UInt64) async {
            var rng = SplitMix64(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
            while !Task.isCancelled {
                let live = cluster.live
                if !live.isEmpty {
                    let replica = live[Int(rng.next() % UInt64(live.count))]
                    let location = CrashCampaign.locations[Int(rng.next() % UInt64(CrashCampaign.locations.count))]
                    let status = try? await cluster.call(replica, location)
                    tally.withLock { status == 200 ? ($0.answered += 1) : ($0.failed += 1) }
                }
                try? await Task.sleep(for: .milliseconds(25))
            }
        }
    }
}
