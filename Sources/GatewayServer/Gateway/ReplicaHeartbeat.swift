import Foundation
import GatewayPolicy
import Logging
import ServiceLifecycle
import Synchronization
import TokenVault

/// How many replicas share the vault, learnt from a heartbeat every `interval`: each replica
/// enforces `1/N` of every client's `rate_limit`, so the replicas together keep it.
///
/// The bound this gives (README, "Several replicas"): with N live replicas each admits
/// `ceil(R/N)` per period, so a client spread evenly is held to at most `R + N - 1`; a client whose
/// calls all land on one replica gets `ceil(R/N)`. A replica that dies still counts until it has
/// missed three beats, and a new one is counted by the others within one interval.
final class ReplicaHeartbeat: Service, Sendable {
    let id: String
    private let vault: any TokenVault
    private let interval: Duration
    private let logger: Logger
    private let count = Atomic<Int>(1)

    init(vault: any TokenVault, interval: Duration = .seconds(5), logger: Logger) {
        id = LeaseHolder.make()
        self.vault = vault
        self.interval = interval
        self.logger = logger
    }

    /// Live replicas as last seen (1 until the first beat).
    var live: Int { count.load(ordering: .relaxed) }

    /// The part of `limit` this replica enforces.
    func share(of limit: RateLimit) -> RateLimit {
        let replicas = live
        guard replicas > 1 else { return limit }
        return RateLimit(requests: (limit.requests + replicas - 1) / replicas, periodSeconds: limit.periodSeconds)
    }

    func run() async {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = Date()
            do {
                let replicas = try await vault.heartbeat(replica: id, now: now, staleBefore: now.addingTimeInterval(-3 * seconds))
                if count.exchange(max(1, replicas), ordering: .relaxed) != replicas {
                    logger.info("replicas sharing the vault", metadata: ["replicas": "\(replicas)"])
                }
            } catch {
                logger.warning("replica heartbeat not recorded", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
