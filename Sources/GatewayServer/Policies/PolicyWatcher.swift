import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads policies on SIGHUP at once, and on file change once the files have stayed the same for
/// one poll interval (a file caught half-written is not applied until the writer is done).
struct PolicyWatcher: Service {
    let store: PolicyStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() {
                    logger.info("SIGHUP: reloading policies")
                    store.reload()
                }
            }
            group.addTask { await poll() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Files that differ from what is loaded are applied only once two polls in a row saw them the same.
    static func shouldReload(onDisk: String, previousPoll: String, loaded: String) -> Bool {
        onDisk != loaded && onDisk == previousPoll
    }

    private func poll() async {
        var seen = store.snapshot.fingerprint
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            let onDisk = store.fingerprintOnDisk()
            if Self.shouldReload(onDisk: onDisk, previousPoll: seen, loaded: store.snapshot.fingerprint) {
                store.reload(onlyIf: onDisk)
            }
            seen = onDisk
        }
    }
}
