import Foundation
import Logging
import ServiceLifecycle

/// Reloads policies on SIGHUP at once, and on file change once the files have stayed the same for
/// one poll interval (a file caught half-written is not applied until the writer is done). Each
/// poll also warns, once, of a client key that expires within a week or has expired.
package struct PolicyWatcher: Service {
    let store: PolicyStore
    let interval: Duration
    /// Where each reload that applied or rejected a set is kept.
    let audit: AuditTrail?
    let logger: Logger

    package init(store: PolicyStore, interval: Duration, audit: AuditTrail?, logger: Logger) {
        self.store = store
        self.interval = interval
        self.audit = audit
        self.logger = logger
    }

    package func run() async throws {
        await HangupSignals.run(
            onHangup: { [self] in
                logger.info("SIGHUP: reloading policies")
                reload()
            }, beside: poll)
    }

    /// Reloads the store, and keeps in the audit trail a set applied (its fingerprint) or rejected (its first problem).
    private func reload(onlyIf expected: String? = nil) {
        switch store.reload(onlyIf: expected) {
        case .unchanged: break
        case .applied: audit?.admin("policy.reload", "accepted", detail: store.snapshot.revision)
        case .rejected: audit?.admin("policy.reload", "rejected", detail: store.status.rejectedIssues.first)
        }
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
                reload(onlyIf: onDisk)
            }
            seen = onDisk
        } while true
    }
}
