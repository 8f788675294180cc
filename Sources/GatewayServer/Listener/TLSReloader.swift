import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads every TLS listener's files on SIGHUP and when they change (checked every `interval`),
/// so a renewed certificate is served to new connections without a restart; a file that does not
/// load is logged and the certificate in force keeps serving.
struct TLSReloader: Service {
    let stores: [BoundListeners.Listener: TLSContextStore]
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in hangups.cancelOnGracefulShutdown() { reloadAll() }
            }
            group.addTask {
                while !Task.isCancelled, !Task.isShuttingDownGracefully {
                    do {
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    } catch {
                        return
                    }
                    reloadAll()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func reloadAll() {
        for (listener, store) in stores {
            switch store.reload() {
            case .unchanged: break
            case .applied: logger.notice("TLS certificate reloaded", metadata: ["listener": "\(listener.rawValue)"])
            case .rejected(let reason):
                logger.error("TLS files rejected; the certificate in force keeps serving", metadata: ["listener": "\(listener.rawValue)", "error": "\(reason)"])
            }
        }
    }
}
