import Foundation
import GatewayPolicy
import Logging
import ServiceLifecycle
import Synchronization
import TokenVault

/// How many replicas share the vault, learnt from a heartbeat every `interval`: each replica
/// enforces `1/N` of every client's `rate_limit`, so the replicas together keep it.
///
/// The bound this gives (docs/operations.md, "Several replicas"): with N live replicas each admits
/// `ceil(R/N)` per period, so a client spread evenly is held to at most `R + N - 1`; a client whose
/// calls all land on one replica gets `ceil(R/N)`. A replica that dies still counts until it has
/// missed three beats, and a new one is counted by the others within one interval. A replica that
/// restarts under its name replaces its row (`ReplicaIdentity`), so it is never counted twice.
package final class ReplicaHeartbeat: Service, Sendable {
    let identity: ReplicaIdentity
    private let vault: any LeaseStore
    private let interval: Duration
    private let logger: Logger
    private let count = Atomic<Int>(1)

    package init(identity: ReplicaIdentity, vault: any LeaseStore, interval: Duration = .seconds(5), logger: Logger) {
        self.identity = identity
        self.vault = vault
        self.interval = interval
        self.logger = logger
    }

    /// A replica not seen for this long is dead: it no longer counts, and its delivery claims are void.
    var staleSeconds: Double {
        3 * (Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
    }

    /// This replica's claim on deliveries until `until`, void once it stops beating.
    package func deliveryClaim(now: Date, until: Date) -> DeliveryClaim {
        DeliveryClaim(holder: identity.holder, until: until, replicasSeenSince: now.addingTimeInterval(-staleSeconds))
    }

    /// Live replicas as last seen (1 until the first beat).
    package var live: Int { count.load(ordering: .relaxed) }

    /// The part of `limit` this replica enforces.
    package func share(of limit: RateLimit) -> RateLimit {
        let replicas = live
        guard replicas > 1 else { return limit }
        return RateLimit(requests: (limit.requests + replicas - 1) / replicas, periodSeconds: limit.periodSeconds)
    }

    /// Starts as this replica (taking back what its earlier incarnation held), then beats. Only a
    /// serving gateway runs it: a one-shot command is no replica and takes nothing back.
    package func run() async {
        do {
            let taken = try await vault.replicaStarted(identity, now: Date())
            logger.info(
                "replica started",
                metadata: [
                    "replica": "\(identity.name)", "leasesTakenBack": "\(taken.leases)", "claimsTakenBack": "\(taken.claims)",
                ])
        } catch {
            logger.warning(
                "replica start not recorded; what an earlier incarnation held lapses on its own",
                metadata: [
                    "error": "\(error)"
                ])
        }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let now = Date()
            do {
                let replicas = try await vault.heartbeat(replica: identity, now: now, staleBefore: now.addingTimeInterval(-staleSeconds))
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
