import HighLevelOAuth
import Logging
import ServiceLifecycle
import TokenVault

/// Work an INSTALL leaves for after HighLevel is answered: exchanging a newly installed location's
/// token, reconciling a company's installed locations. Each is stored with its event
/// (`WebhookFollowUp`) and marked done here once it reached a verdict, so a crash loses none: at
/// start the worker first does what is still pending. A follow-up that failed for a reason that
/// may pass (HighLevel or the database unavailable) stays pending for the next start; meanwhile a
/// location's first API call does the exchange itself.
final class WebhookWorker: Service, Sendable {
    private let jobs: AsyncStream<WebhookFollowUp>
    private let continuation: AsyncStream<WebhookFollowUp>.Continuation
    private let broker: TokenBroker
    private let oauth: HighLevelOAuthClient
    private let appId: String
    private let logger: Logger

    init(broker: TokenBroker, oauth: HighLevelOAuthClient, appId: String, logger: Logger) {
        (jobs, continuation) = AsyncStream.makeStream(of: WebhookFollowUp.self, bufferingPolicy: .bufferingNewest(10_000))
        self.broker = broker
        self.oauth = oauth
        self.appId = appId
        self.logger = logger
    }

    func enqueue(_ followUp: WebhookFollowUp) { continuation.yield(followUp) }

    func run() async {
        do {
            for followUp in try await broker.vault.pendingFollowUps() { await perform(followUp) }
        } catch {
            logger.error("pending INSTALL follow-ups not read", metadata: ["error": "\(error)"])
        }
        for await followUp in jobs.cancelOnGracefulShutdown() {
            await perform(followUp)
        }
    }

    private func perform(_ followUp: WebhookFollowUp) async {
        guard let done = await attempt(followUp), done else { return }
        do {
            try await broker.vault.finishFollowUp(webhookId: followUp.webhookId)
            logger.info("INSTALL follow-up done", metadata: ["kind": "\(followUp.kind.rawValue)"])
        } catch {
            logger.warning("INSTALL follow-up not marked done; it runs again at the next start", metadata: ["error": "\(error)"])
        }
    }

    /// Whether the follow-up reached a verdict (nil or false: it stays pending).
    private func attempt(_ followUp: WebhookFollowUp) async -> Bool? {
        switch followUp.kind {
        case .exchange:
            guard let locationId = followUp.locationId else { return true }
            do {
                _ = try await broker.accessToken(for: .location(locationId))
                logger.info("location token obtained after INSTALL", metadata: ["location": "\(locationId)"])
                return true
            } catch {
                logger.notice(
                    "no location token after INSTALL; the first call will try again",
                    metadata: [
                        "location": "\(locationId)", "reason": "\(error)",
                    ])
                return !Self.mayPass(error)
            }
        case .reconcile:
            guard let companyId = followUp.companyId else { return true }
            do {
                let company = try await broker.accessToken(for: .company(companyId))
                guard company.scopes.contains("oauth.readonly") || company.scopes.contains("oauth.write") else { return true }
                let locations = try await oauth.installedLocations(companyToken: company.token, companyId: companyId, appId: appId)
                try await broker.vault.linkLocations(locations, toCompany: companyId, source: .installedLocations)
                logger.info("installed locations reconciled after INSTALL", metadata: ["company": "\(companyId)", "locations": "\(locations.count)"])
                return true
            } catch {
                logger.notice("installed locations not reconciled", metadata: ["company": "\(companyId)", "reason": "\(error)"])
                return !Self.mayPass(error)
            }
        }
    }

    /// HighLevel or the database unavailable: worth trying again later.
    private static func mayPass(_ error: any Error) -> Bool {
        switch error {
        case BrokerError.unavailable, BrokerError.vault: true
        case let error as OAuthError: error.isTransient
        case is VaultError: true
        default: false
        }
    }
}
