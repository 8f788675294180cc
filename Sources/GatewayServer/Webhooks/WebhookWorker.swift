import HighLevelOAuth
import Logging
import ServiceLifecycle
import TokenVault

/// Work a webhook starts but the answer to HighLevel must not wait for: exchanging a newly
/// installed location's token, reconciling a bulk install's locations. The install itself is
/// stored before the webhook is answered; a job lost at shutdown only means the first API call
/// does the exchange instead.
final class WebhookWorker: Service, Sendable {
    enum Job: Sendable {
        case exchange(locationId: String)
        case reconcile(companyId: String)
    }

    private let jobs: AsyncStream<Job>
    private let continuation: AsyncStream<Job>.Continuation
    private let broker: TokenBroker
    private let oauth: HighLevelOAuthClient
    private let appId: String
    private let logger: Logger

    init(broker: TokenBroker, oauth: HighLevelOAuthClient, appId: String, logger: Logger) {
        (jobs, continuation) = AsyncStream.makeStream(of: Job.self, bufferingPolicy: .bufferingNewest(10_000))
        self.broker = broker
        self.oauth = oauth
        self.appId = appId
        self.logger = logger
    }

    func enqueue(_ job: Job) { continuation.yield(job) }

    func run() async {
        for await job in jobs.cancelOnGracefulShutdown() {
            await perform(job)
        }
    }

    private func perform(_ job: Job) async {
        switch job {
        case .exchange(let locationId):
            do {
                _ = try await broker.accessToken(for: .location(locationId))
                logger.info("location token obtained after INSTALL", metadata: ["location": "\(locationId)"])
            } catch {
                logger.notice("no location token after INSTALL; the first call will try again", metadata: [
                    "location": "\(locationId)", "reason": "\(error)",
                ])
            }
        case .reconcile(let companyId):
            do {
                let company = try await broker.accessToken(for: .company(companyId))
                guard company.scopes.contains("oauth.readonly") || company.scopes.contains("oauth.write") else { return }
                let locations = try await oauth.installedLocations(companyToken: company.token, companyId: companyId, appId: appId)
                try await broker.vault.linkLocations(locations, toCompany: companyId, source: .installedLocations)
                logger.info("installed locations reconciled after INSTALL", metadata: ["company": "\(companyId)", "locations": "\(locations.count)"])
            } catch {
                logger.notice("installed locations not reconciled", metadata: ["company": "\(companyId)", "reason": "\(error)"])
            }
        }
    }
}
