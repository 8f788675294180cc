import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TokenVault

/// The audit trail's writer. A record is taken without waiting (a lock and an append) and written
/// with the others in one transaction every `flushInterval`, or as soon as `batchSize` are
/// waiting; at a graceful shutdown the rest is written before the service returns. A `kill -9`
/// loses at most what arrived since the last write. When the database falls far behind, a record
/// that finds `capacity` waiting is dropped and counted (`ghl_gateway_audit_dropped_total`):
/// a slow database never slows a request. Entries older than the retention are pruned hourly.
package final class AuditTrail: Service, Sendable {
    package struct Settings: Sendable {
        package var record: GatewayConfiguration.Audit.Record
        package var retention: TimeInterval
        package var flushInterval: Duration = .seconds(1)
        /// Large enough that a busy proxy commits (and syncs) a few times a second, not dozens;
        /// small enough that a batch holds the database's write lock for milliseconds.
        package var batchSize = 5_000
        package var capacity = 100_000
        package var pruneInterval: Duration = .seconds(3_600)

        package init(_ audit: GatewayConfiguration.Audit) {
            record = audit.record
            retention = audit.retentionDays * 86_400
        }
    }

    let settings: Settings
    private let store: any AuditStore
    private let pending = Mutex<[AuditRecord]>([])
    private let doorbell = Doorbell()
    private let metrics: GatewayMetrics
    private let logger: Logger

    package init(settings: Settings, store: any AuditStore, metrics: GatewayMetrics, logger: Logger) {
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    /// Whether a record is kept under `audit.record`: admin actions always (unless off), decisions
    /// that allowed a call only under `all`. Asked before a record is made, so one not kept costs nothing.
    package func keeps(admin: Bool, allowed: Bool) -> Bool {
        switch settings.record {
        case .all: true
        case .refusals: admin || !allowed
        case .off: false
        }
    }

    /// Takes `record` for the next write.
    package func record(_ record: consuming AuditRecord) {
        guard keeps(admin: record.kind == .admin, allowed: record.decision == "allow" && record.code == nil) else { return }
        // Moved into the batch, not copied: a copy retains each of its strings, at every request.
        var moving: AuditRecord? = consume record
        let count = pending.withLock { pending -> Int? in
            guard pending.count < settings.capacity else { return nil }
            pending.append(moving.take()!)
            return pending.count
        }
        guard let count else { return metrics.auditDropped() }
        if count == settings.batchSize { doorbell.ring() }
    }

    /// An operator's or the gateway's own action (`token.refresh`, `policy.reload`, ...), and what became of it.
    package func admin(_ action: String, _ outcome: String, detail: String? = nil, requestId: String? = nil) {
        var entry = AuditRecord(at: Date(), kind: .admin, subject: action, decision: outcome)
        entry.detail = detail.map { String($0.prefix(500)) }
        entry.requestId = requestId
        record(entry)
    }

    package func run() async throws {
        var lastPrune = ContinuousClock.now - settings.pruneInterval
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await waitForWork()
                await flush()
                if ContinuousClock.now - lastPrune >= settings.pruneInterval {
                    lastPrune = .now
                    await prune()
                }
            }
        } onGracefulShutdown: {
            self.doorbell.ring()
        }
        await flush()
    }

    /// Writes what is waiting, in one transaction; on failure it is kept for the next try (ahead of what came since).
    package func flush() async {
        let batch = pending.withLock { pending in
            defer { pending = [] }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.appendAudit(batch)
        } catch {
            logger.error("audit entries could not be written; kept for the next try", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            let dropped = pending.withLock { pending in
                let room = max(0, settings.capacity - pending.count)
                pending = Array(batch.prefix(room)) + pending
                return batch.count - min(room, batch.count)
            }
            for _ in 0..<dropped { metrics.auditDropped() }
        }
    }

    private func prune() async {
        do {
            let pruned = try await store.pruneAudit(before: Date().addingTimeInterval(-settings.retention))
            if pruned > 0 { logger.info("audit entries past their retention pruned", metadata: ["count": "\(pruned)"]) }
        } catch {
            logger.warning("audit entries could not be pruned", metadata: ["error": "\(error)"])
        }
    }

    /// Returns after `flushInterval`, or sooner when a batch is full or shutdown begins.
    private func waitForWork() async {
        let interval = settings.flushInterval
        let doorbell = self.doorbell
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: interval)
                return true
            }
            group.addTask {
                await doorbell.wait()
                return false
            }
            let timedOut = await group.next() ?? false
            group.cancelAll()
            // The wait still pending when the timer came first: released.
            if timedOut { doorbell.ring() }
        }
    }
}
