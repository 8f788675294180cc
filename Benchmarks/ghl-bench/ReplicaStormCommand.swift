import ArgumentParser
import Foundation
import GatewaySandbox

/// A refresh storm over several replicas on one PostgreSQL database: HighLevel drops the access
/// token, and requests spread over every replica must make one refresh between them (the renewal
/// lease), the others waiting for it (the change feed, or a bounded re-read).
struct ReplicaStormCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replica-storm", abstract: "N concurrent requests over R replicas on an expired token: refreshes, latency, time to answer all.")

    @Option(help: "The PostgreSQL database the replicas share (empty, or one this command made before).") var postgresURL: String
    @Option(help: "Replicas.") var replicas = 3
    @Option(help: "Concurrent requests per storm.") var requests = 300
    @Option(help: "Storms.") var rounds = 5

    func run() async throws {
        var sandbox = Sandbox(ports: .init(proxy: 0, public: 0, admin: 0), logLevel: .error)
        sandbox.postgresURL = postgresURL
        sandbox.replicas = replicas
        sandbox.enforceUpstreamBudget = false
        let (requests, rounds) = (self.requests, self.rounds)
        try await sandbox.run { session in
            try await SandboxClient.with(session) { client in
                try await client.install()
                let proxies = session.replicaProxyURLs
                for proxy in proxies {
                    guard try await client.call(through: proxy) == 200 else { throw SandboxClient.Failure(description: "warm-up call failed") }
                }
                print("refresh storms: \(requests) concurrent requests over \(proxies.count) replicas on one PostgreSQL database")
                for round in 1...rounds {
                    await session.simulator.state.expireAccessTokens()
                    let refreshesBefore = await session.simulator.state.refreshes
                    let started = ContinuousClock.now
                    let results = try await withThrowingTaskGroup(of: (Int, Duration).self) { group in
                        for index in 0..<requests {
                            group.addTask {
                                let sent = ContinuousClock.now
                                let status = try await client.call(contact: "storm-\(index)", through: proxies[index % proxies.count])
                                return (status, ContinuousClock.now - sent)
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    let elapsed = ContinuousClock.now - started
                    let refreshes = await session.simulator.state.refreshes - refreshesBefore
                    let latencies = results.map { Self.milliseconds($0.1) }.sorted()
                    let ok = results.filter { $0.0 == 200 }.count
                    print(
                        String(
                            format: "  storm %d: refreshes %d, %d/%d answered 200, latency p50 %.0f ms p99 %.0f ms max %.0f ms, all in %.0f ms",
                            round, refreshes, ok, requests, latencies[latencies.count / 2], latencies[latencies.count * 99 / 100],
                            latencies.last ?? 0, Self.milliseconds(elapsed)))
                }
            }
        }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
    }
}
