import Logging
import ServiceLifecycle

/// Re-reads every TLS listener's files on SIGHUP and when they change (checked every `interval`),
/// so a renewed certificate is served to new connections without a restart; a file that does not
/// load is logged and the certificate in force keeps serving.
package struct TLSReloader: Service {
    let stores: [ListenerKind: TLSContextStore]
    let interval: Duration
    let logger: Logger

    package init(stores: [ListenerKind: TLSContextStore], interval: Duration, logger: Logger) {
        self.stores = stores
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        await HangupSignals.run(onHangup: reloadAll) {
            while await HangupSignals.pause(interval) { reloadAll() }
        }
    }

    private func reloadAll() {
        for (listener, store) in stores {
            switch store.reload() {
            case .unchanged: break
            case .applied: logger.notice("TLS certificate reloaded", metadata: ["listener": "\(listener.rawValue)"])
            case .rejected(let reason):
                logger.error(
                    "TLS files rejected; the certificate in force keeps serving",
                    metadata: ["listener": "\(listener.rawValue)", "error": "\(reason)"])
            }
        }
    }
}
