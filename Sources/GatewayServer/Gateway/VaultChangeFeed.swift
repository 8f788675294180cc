import HighLevelOAuth
import Logging
import ServiceLifecycle
import TokenVault

/// Hears what other replicas change in the shared vault (a renewal, a revoke, an uninstall, a
/// reinstall) and tells the token broker at once, so no replica serves a token another one
/// revoked for longer than the notice takes to arrive (instead of `tokens.cache_seconds`).
struct VaultChangeFeed: Service {
    let vault: any TokenVault
    let broker: TokenBroker
    let logger: Logger

    func run() async {
        let broker = self.broker
        do {
            try await cancelWhenGracefulShutdown {
                try await vault.watchChanges { owner in broker.tokenChanged(owner) }
            }
        } catch {
            logger.error("vault change feed stopped", metadata: ["error": "\(error)"])
        }
    }
}
