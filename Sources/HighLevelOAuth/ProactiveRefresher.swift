import Foundation
import Logging
import ServiceLifecycle
import TokenVault

/// Renews tokens ahead of expiry so that requests rarely wait for a refresh. Each pass looks for
/// tokens expiring within the window (plus a per-token jitter, so tokens issued together do not
/// renew together), skips those backing off or needing a reinstall, and renews them through the
/// broker's single-flight with bounded concurrency.
package struct ProactiveRefresher: Service {
    package struct Settings: Sendable {
        package var interval: Duration
        package var window: TimeInterval
        package var jitter: TimeInterval
        package var concurrency: Int

        package init(interval: Duration = .seconds(30), window: TimeInterval = 900, jitter: TimeInterval = 300, concurrency: Int = 4) {
            self.interval = interval
            self.window = window
            self.jitter = jitter
            self.concurrency = max(1, concurrency)
        }
    }

    private let broker: TokenBroker
    private let settings: Settings
    private let logger: Logger

    package init(broker: TokenBroker, settings: Settings = Settings(), logger: Logger) {
        self.broker = broker
        self.settings = settings
        self.logger = logger
    }

    package func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await runOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.interval) }
        }
    }

    /// One pass; returns the owners it tried to renew.
    @discardableResult
    package func runOnce(now: Date = Date()) async -> [TokenOwner] {
        let records: [TokenRecord]
        do {
            records = try await broker.vault.tokenRecords(expiringBefore: now.addingTimeInterval(settings.window + settings.jitter))
        } catch {
            logger.error("proactive refresh cannot list tokens", metadata: ["error": "\(error)"])
            return []
        }
        let due = records.filter { record in
            record.state != .needsReinstall
                && (record.nextAttemptAt ?? .distantPast) <= now
                && record.expiresAt.timeIntervalSince(now) < settings.window + jitter(for: record.owner)
        }.map(\.owner)
        guard !due.isEmpty else { return [] }
        await withTaskGroup(of: Void.self) { group in
            var pending = due[...]
            func startNext() {
                guard let owner = pending.popFirst() else { return }
                group.addTask { await renew(owner) }
            }
            for _ in 0..<settings.concurrency { startNext() }
            while await group.next() != nil { startNext() }
        }
        return due
    }

    private func renew(_ owner: TokenOwner) async {
        do {
            try await broker.refresh(owner, ifExpiringWithin: settings.window + jitter(for: owner))
        } catch {
            logger.warning("proactive refresh failed", metadata: ["owner": "\(owner)", "error": "\(error)"])
        }
    }

    /// A stable spread per owner within the process, between 0 and `jitter` seconds.
    private func jitter(for owner: TokenOwner) -> TimeInterval {
        guard settings.jitter > 0 else { return 0 }
        var hasher = Hasher()
        hasher.combine(owner)
        return Double(UInt(bitPattern: hasher.finalize()) % 1000) / 1000 * settings.jitter
    }
}
