import ServiceLifecycle
import UnixSignals

/// The shape of a service that reloads files on SIGHUP at once and checks them every interval
/// (`PolicyWatcher`, `TLSReloader`), until graceful shutdown.
enum HangupSignals {
    /// Runs `poll` (which returns at shutdown) while every SIGHUP calls `onHangup`.
    static func run(onHangup: @escaping @Sendable () -> Void, beside poll: @escaping @Sendable () async -> Void) async {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() { onHangup() }
            }
            group.addTask { await poll() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sleeps `interval`; false once the service is shutting down (or cancelled).
    static func pause(_ interval: Duration) async -> Bool {
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return false }
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            return true
        } catch {
            return false
        }
    }
}
