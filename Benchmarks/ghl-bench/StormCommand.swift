import ArgumentParser
import Foundation
import GatewaySandbox
import Logging
import TokenVault

/// A refresh storm: many concurrent requests for one location whose token has just expired.
/// Single-flight means exactly one refresh goes to HighLevel while every request waits for it.
struct StormCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm", abstract: "N concurrent requests on an expired token: upstream refreshes and time to answer all.")

    @Option(help: "Concurrent requests.") var requests = 1_000

    func run() async throws {
        let requests = self.requests
        var sandbox = Sandbox(ports: .init(proxy: 0, public: 0, admin: 0), logLevel: .error)
        sandbox.enforceUpstreamBudget = false
        try await sandbox.run { session in
            try await SandboxClient.with(session) { client in
                try await client.install()
                guard try await client.call() == 200 else { throw SandboxClient.Failure(description: "warm-up call failed") }
                let owner = TokenOwner.location("locSim0001")
                // The token is now expired for HighLevel and for the gateway (vault and memory).
                await session.simulator.state.expireAccessTokens()
                try await session.gateway.vault.expire(owner)
                await session.gateway.broker.forget(owner)
                let refreshesBefore = await session.simulator.state.refreshes

                let started = ContinuousClock.now
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<requests { group.addTask { try await client.call(contact: "storm-\(index)") } }
                    return try await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
                }
                let elapsed = ContinuousClock.now - started
                let refreshes = await session.simulator.state.refreshes - refreshesBefore
                print("refresh storm: \(requests) concurrent requests on an expired token")
                print("  upstream refreshes: \(refreshes)")
                print("  statuses: \(statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))")
                print(
                    String(
                        format: "  all answered in %.0f ms",
                        Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1_000))
            }
        }
    }
}
