import Foundation
import Logging
import ServiceLifecycle

/// Reloads policies on SIGHUP at once, and on file change once the files have stayed the same for
/// one poll interval (a file caught half-written is not applied until the writer is done). Each
/// poll also warns, once, of a client key that expires within a week or has expired.
package struct PolicyWatcher: Service {
    let store: PolicyStore
    let interval: Duration
    let logger: Logger

    package init(store: PolicyStore, interval: Duration, logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await HangupSignals.run(
            onHangup: { [store, logger] in
                logger.info("SIGHUP: reloading policies")
                store.reload()
            }, beside: poll)
    }

    /// Files that differ from what is loaded are applied only once two polls in a row saw them the same.
    static func shouldReload(onDisk: String, previousPoll: String, loaded: String) -> Bool {
        onDisk != loaded && onDisk == previousPoll
    }

    private func poll() async {
        var seen = store.snapshot.fingerprint
        var expiries = KeyExpiryWarnings()
        repeat {
            for (client, key) in expiries.check(ClientKeysReport(store.snapshot.policies)) {
                logger.warning(
                    key.expired ? "gateway key expired; it is refused" : "gateway key expires within a week",
                    metadata: [
                        "client": "\(client)", "key": "\(key.digest)", "expires": "\(key.expires?.formatted(.iso8601) ?? "")",
                    ])
            }
            guard await HangupSignals.pause(interval) else { return }
            let onDisk = store.fingerprintOnDisk()
            if Self.shouldReload(onDisk: onDisk, previousPoll: seen, loaded: store.snapshot.fingerprint) {
                store.reload(onlyIf: onDisk)
            }
            seen = onDisk
        } while true
    }
}
