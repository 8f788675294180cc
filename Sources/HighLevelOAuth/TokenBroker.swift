import Foundation
import Logging
import Synchronization
import TokenVault

/// Hands out valid HighLevel access tokens: from memory when fresh, else by refreshing or by
/// exchanging the company's token for a location's. At most one refresh or exchange per owner
/// is in flight, however many requests wait for it: in this process by one task per owner, across
/// processes and replicas by the vault's renewal lease, which only its holder may call HighLevel
/// under. A waiter elsewhere learns of the new token from the vault's change feed
/// (`tokenChanged`), or by re-reading at a bounded interval.
///
/// A refresh is committed in order: take the lease and re-read the token (another process may have
/// renewed it meanwhile), mark the refresh as started (durably), call HighLevel (the lease is kept
/// alive meanwhile, never inside a transaction), store the rotated pair (durably, compare-and-swap
/// on the version), release the lease, and only then hand out the new access token. On
/// `invalid_grant` the stored token is re-read first: if it changed, another refresh won and its
/// token is used; only otherwise is the installation marked `needs_reinstall`.
///
/// A location's token has a second copy: its company's token, exchanged again. So a location whose
/// refresh token may be dead (a refresh found marked as started when the lease is taken was cut off
/// with its process, and HighLevel may have rotated the token meanwhile; or HighLevel answered
/// `invalid_grant`) is exchanged again whenever its company's token can, and is never presented with
/// that refresh token first. Only when no exchange can help (no company token, no `oauth.write`,
/// HighLevel refuses) is the refresh token tried, or the location marked `needs_reinstall`. A
/// company's token (and a location installed on its own) has no second copy: for it the rotated
/// pair is committed before it is used, which leaves only the round trip to HighLevel at risk.
package actor TokenBroker {
    package struct Settings: Sendable {
        /// Renew a token that expires within this margin.
        package var refreshMargin: TimeInterval
        /// First wait after a transient failure; doubles per failure up to `maxBackoff`.
        package var baseBackoff: TimeInterval
        package var maxBackoff: TimeInterval
        /// How long a token read from the vault is served from memory before the vault is read again,
        /// so a revocation or renewal by another process (the `tokens` CLI) is seen within this time.
        package var cacheLifetime: Duration
        /// How long a renewal lease lasts unless renewed: another process takes over a renewal
        /// whose holder died this long after its last renewal.
        package var leaseSeconds: TimeInterval
        /// How long a request waits for another process's renewal before it is answered 503.
        package var leaseWait: Duration
        /// How often a waiter re-reads the token when no change is announced.
        package var leasePoll: Duration
        /// At most one renewal per owner forced by HighLevel's 401s within this time, so a HighLevel
        /// that refuses every token (or a caller that provokes 401s) cannot churn the refresh token.
        package var forcedRenewalInterval: Duration

        package init(
            refreshMargin: TimeInterval = 300, baseBackoff: TimeInterval = 5, maxBackoff: TimeInterval = 600,
            cacheLifetime: Duration = .seconds(30), leaseSeconds: TimeInterval = 30, leaseWait: Duration = .seconds(45),
            leasePoll: Duration = .milliseconds(250), forcedRenewalInterval: Duration = .seconds(30)
        ) {
            self.refreshMargin = refreshMargin
            self.baseBackoff = baseBackoff
            self.maxBackoff = maxBackoff
            self.cacheLifetime = cacheLifetime
            self.leaseSeconds = leaseSeconds
            self.leaseWait = leaseWait
            self.leasePoll = leasePoll
            self.forcedRenewalInterval = forcedRenewalInterval
        }
    }

    /// Told of every renewal: kind (`refresh`, `exchange`) and outcome (`success`, `invalid_grant`,
    /// `transient_failure`, `rejected`, `unsaved`), for metrics.
    package typealias Observer = @Sendable (_ kind: String, _ outcome: String) -> Void

    package let vault: any TokenVault
    private let client: HighLevelOAuthClient
    private let settings: Settings
    private let logger: Logger
    private let observe: Observer
    /// Tokens handed out lately; behind a mutex so a request can read one without a hop to the actor.
    private let cache = Mutex<[TokenOwner: (token: AccessToken, readAt: ContinuousClock.Instant)]>([:])
    /// The renewal under way per owner, and what it was asked to do (`RenewMode.covers`).
    private var inFlight: [TokenOwner: (task: Task<AccessToken, any Error>, mode: RenewMode)] = [:]
    /// When a 401 last forced a renewal, per owner (`forcedRenewalInterval`).
    private var lastForcedRenewal: [TokenOwner: ContinuousClock.Instant] = [:]
    /// Pairs HighLevel rotated but the vault could not store (disk full): used, and stored on the next chance.
    private var unsaved: [TokenOwner: (grant: TokenGrant, replacing: Int)] = [:]
    /// Who this broker is when it holds a renewal lease (`ReplicaIdentity.holder`).
    package nonisolated let leaseHolder: String
    /// Wakes renewals waiting for another process's lease when the vault announces a change.
    private let changes = ChangeSignal()

    package init(
        vault: any TokenVault, client: HighLevelOAuthClient, settings: Settings = Settings(), logger: Logger,
        replica: ReplicaIdentity = .unique(), observer: @escaping Observer = { _, _ in }
    ) {
        self.vault = vault
        self.client = client
        self.settings = settings
        self.logger = logger
        self.observe = observer
        leaseHolder = replica.holder
    }

    /// A token valid for at least the refresh margin, renewing it when needed.
    package func accessToken(for owner: TokenOwner) async throws(BrokerError) -> AccessToken {
        if let cached = cachedToken(for: owner) { return cached }
        return try await renew(owner, mode: .whenExpiring(settings.refreshMargin))
    }

    /// The cached token when it is still good for the refresh margin and was read within the cache
    /// lifetime; nil when only `accessToken(for:)` can tell (it may need the vault or HighLevel).
    package nonisolated func cachedToken(for owner: TokenOwner) -> AccessToken? {
        guard let cached = cache.withLock({ $0[owner] }), cached.token.expiresAt.timeIntervalSinceNow > settings.refreshMargin,
            ContinuousClock.now - cached.readAt < settings.cacheLifetime
        else { return nil }
        return cached.token
    }

    /// After HighLevel answered 401 to `rejected`: a newer token if another renewal already produced
    /// one (or is producing it), else a forced refresh, at most one per owner per
    /// `forcedRenewalInterval`; nil when none may run, so HighLevel's 401 stands. Never loops: the
    /// caller replays once with the result.
    package func accessToken(replacing rejected: AccessToken) async throws(BrokerError) -> AccessToken? {
        let owner = rejected.owner
        if let cached = cache.withLock({ $0[owner]?.token }), cached.version != rejected.version, cached.expiresAt > Date() {
            return cached
        }
        if inFlight[owner] == nil {
            if let last = lastForcedRenewal[owner], ContinuousClock.now - last < settings.forcedRenewalInterval {
                logger.notice("HighLevel refused a token renewed moments ago; its 401 passes through", metadata: ["owner": "\(owner)"])
                return nil
            }
            lastForcedRenewal[owner] = ContinuousClock.now
        }
        cache.withLock { $0[owner] = nil }
        return try await renew(owner, mode: .unlessNewerThan(rejected.version))
    }

    /// Renews the token now (operator action or proactive refresher with `within`).
    @discardableResult
    package func refresh(_ owner: TokenOwner, ifExpiringWithin window: TimeInterval? = nil) async throws(BrokerError) -> AccessToken {
        try await renew(owner, mode: window.map(RenewMode.whenExpiring) ?? .always)
    }

    /// Forgets the cached token (after an uninstall or a token deleted by an operator).
    package func forget(_ owner: TokenOwner) {
        cache.withLock { $0[owner] = nil }
        unsaved[owner] = nil
    }

    /// Another process changed the owner's token or installation (the vault's change feed): the
    /// cached token is dropped and renewals waiting for that process's lease look again.
    package nonisolated func tokenChanged(_ owner: TokenOwner) {
        cache.withLock { $0[owner] = nil }
        changes.signal(owner)
    }

    enum RenewMode: Sendable {
        case whenExpiring(TimeInterval)
        case unlessNewerThan(Int)
        case always

        /// Whether a renewal run in this mode also does what `other` asks, so a caller in `other`
        /// mode may take its result.
        func covers(_ other: RenewMode) -> Bool {
            switch (self, other) {
            case (.always, _): true
            case (.whenExpiring(let mine), .whenExpiring(let theirs)): mine >= theirs
            case (.unlessNewerThan(let mine), .unlessNewerThan(let theirs)): mine == theirs
            case (.unlessNewerThan, .whenExpiring): true
            default: false
            }
        }
    }

    private func renew(_ owner: TokenOwner, mode: RenewMode) async throws(BrokerError) -> AccessToken {
        // A renewal under way that may not renew (a look for a valid token) does not answer one that
        // must (an operator's refresh, a 401): that one waits for it to end, then runs its own.
        while let running = inFlight[owner], !running.mode.covers(mode) {
            _ = try? await running.task.value
            finish(owner, running.task)
        }
        let task: Task<AccessToken, any Error>
        if let running = inFlight[owner] {
            task = running.task
        } else {
            task = Task { try await self.performRenew(owner, mode: mode) }
            inFlight[owner] = (task, mode)
        }
        do {
            let token = try await task.value
            finish(owner, task)
            cache.withLock { $0[owner] = (token, ContinuousClock.now) }
            return token
        } catch {
            finish(owner, task)
            throw (error as? BrokerError) ?? .unavailable(owner, reason: "\(error)")
        }
    }

    private func finish(_ owner: TokenOwner, _ task: Task<AccessToken, any Error>) {
        if inFlight[owner]?.task == task { inFlight[owner] = nil }
    }

    /// What one look at the stored token decided.
    private enum Step {
        case token(AccessToken)
        /// HighLevel must be called, which only the lease holder may do; with the stored token while
        /// it is still valid (served when another process holds the lease and the caller can wait no longer).
        case needsLease(AccessToken?)
    }

    private func performRenew(_ owner: TokenOwner, mode: RenewMode) async throws(BrokerError) -> AccessToken {
        try await persistUnsaved(owner)
        if let pending = unsaved[owner] {
            // Still not storable: the in-memory pair is the only valid one; never use the stored refresh token.
            return Self.accessToken(owner, pending.grant, version: pending.replacing + 1)
        }
        let deadline = ContinuousClock.now + settings.leaseWait
        while true {
            let current: AccessToken?
            switch try await step(owner, mode: mode, leased: false) {
            case .token(let token): return token
            case .needsLease(let valid): current = valid
            }
            if try await takeLease(owner) {
                return try await holdingLease(owner) { () async throws(BrokerError) -> AccessToken in
                    guard case .token(let token) = try await step(owner, mode: mode, leased: true) else {
                        throw .unavailable(owner, reason: "renewal lease lost")
                    }
                    return token
                }
            }
            // Another process renews it. A token renewed only because it nears expiry is still good
            // meanwhile: use it rather than wait (a 401 or an operator's refresh waits for the new one).
            if case .whenExpiring = mode, let current { return current }
            guard ContinuousClock.now < deadline else {
                throw .unavailable(owner, reason: "another process is renewing this token and has not finished")
            }
            await changes.wait(for: owner, atMost: settings.leasePoll)
        }
    }

    /// Reads the stored token and uses it, or renews it when `leased` (else says the lease is needed).
    private func step(_ owner: TokenOwner, mode: RenewMode, leased: Bool) async throws(BrokerError) -> Step {
        let stored = try await readToken(owner)
        guard let stored else {
            guard case .location(let locationId) = owner else { throw .notInstalled(owner) }
            guard leased else { return .needsLease(nil) }
            return .token(try await exchange(locationId: locationId, replacing: nil))
        }
        let record = stored.record
        if record.state == .needsReinstall { throw .needsReinstall(owner) }
        let current = AccessToken(
            owner: owner, token: stored.accessToken, scopes: record.scopes, expiresAt: record.expiresAt, version: record.version)
        switch mode {
        case .whenExpiring(let margin) where record.expiresAt.timeIntervalSinceNow > margin:
            return .token(current)
        case .unlessNewerThan(let version) where record.version != version && record.expiresAt > Date():
            return .token(current)
        default:
            break
        }
        if let next = record.nextAttemptAt, next > Date() {
            guard record.expiresAt > Date() else {
                throw .unavailable(owner, reason: "backing off after \(record.consecutiveFailures) failure(s) until \(next)")
            }
            return .token(current)
        }
        guard leased else { return .needsLease(current.expiresAt > Date() ? current : nil) }
        if record.refreshStartedAt != nil {
            logger.warning("a refresh was cut off with its process; its refresh token may be dead", metadata: ["owner": "\(owner)"])
            if let token = try await exchangeAgain(owner, record) { return .token(token) }
        }
        guard let refreshToken = stored.refreshToken else {
            guard case .location(let locationId) = owner else { throw .needsReinstall(owner) }
            return .token(try await exchange(locationId: locationId, replacing: record.version))
        }
        return .token(try await refresh(owner, refreshToken, current: current, record: record))
    }

    private func takeLease(_ owner: TokenOwner) async throws(BrokerError) -> Bool {
        let now = Date()
        do {
            return try await vault.acquireRenewalLease(
                owner, holder: leaseHolder, until: now.addingTimeInterval(settings.leaseSeconds), now: now)
        } catch {
            throw .vault(error)
        }
    }

    /// Runs `body` with the lease kept alive (renewed every third of its length), then gives it back.
    private func holdingLease<T: Sendable>(
        _ owner: TokenOwner, _ body: () async throws(BrokerError) -> T
    ) async throws(BrokerError) -> T {
        let vault = self.vault
        let holder = leaseHolder
        let seconds = settings.leaseSeconds
        let keeper = Task {
            while true {
                try await Task.sleep(for: .milliseconds(Int64(seconds * 1000 / 3)))
                let now = Date()
                _ = try? await vault.acquireRenewalLease(owner, holder: holder, until: now.addingTimeInterval(seconds), now: now)
            }
        }
        let result: Result<T, BrokerError>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        keeper.cancel()
        do {
            try await vault.releaseRenewalLease(owner, holder: holder)
        } catch {
            logger.warning("renewal lease not released; it lapses on its own", metadata: ["owner": "\(owner)", "error": "\(error)"])
        }
        return try result.get()
    }

    private func refresh(
        _ owner: TokenOwner, _ refreshToken: Secret, current: AccessToken, record: TokenRecord
    ) async throws(BrokerError) -> AccessToken {
        do {
            try await vault.markRefreshStarted(owner, version: record.version)
        } catch {
            throw try await resolveLostRace(owner, error: error)
        }
        let response: TokenResponse
        do {
            response = try await client.refresh(refreshToken, userType: owner.userType)
        } catch {
            observe("refresh", Self.outcome(error))
            return try await refreshFailed(owner, error, current: current, record: record)
        }
        return try await storeRotated(owner, response.grant(origin: record.origin), kind: "refresh", replacing: record.version)
    }

    /// Stores a pair HighLevel just issued. If the vault cannot take it, the pair is kept in memory
    /// (the old refresh token is dead) and stored at the next chance.
    private func storeRotated(
        _ owner: TokenOwner, _ grant: TokenGrant, kind: String, replacing version: Int?
    ) async throws(BrokerError) -> AccessToken {
        do {
            let record = try await vault.store(grant, for: owner, replacing: version)
            observe(kind, "success")
            logger.info(
                "token renewed",
                metadata: [
                    "owner": "\(owner)", "by": "\(kind)", "version": "\(record.version)",
                    "expiresAt": "\(record.expiresAt)",
                ])
            return Self.accessToken(owner, grant, version: record.version)
        } catch {
            guard case .database = error, let version else {
                logger.error("renewed token not stored", metadata: ["owner": "\(owner)", "error": "\(error)"])
                throw .vault(error)
            }
            unsaved[owner] = (grant, version)
            observe(kind, "unsaved")
            logger.critical(
                "renewed token could not be stored; holding it in memory and retrying",
                metadata: [
                    "owner": "\(owner)", "error": "\(error)",
                ])
            return Self.accessToken(owner, grant, version: version + 1)
        }
    }

    private func persistUnsaved(_ owner: TokenOwner) async throws(BrokerError) {
        guard let pending = unsaved[owner] else { return }
        do {
            try await vault.store(pending.grant, for: owner, replacing: pending.replacing)
            unsaved[owner] = nil
            logger.notice("token held in memory is now stored", metadata: ["owner": "\(owner)"])
        } catch {
            if case .versionConflict = error { unsaved[owner] = nil }
        }
    }

    private func refreshFailed(
        _ owner: TokenOwner, _ error: OAuthError, current: AccessToken, record: TokenRecord
    ) async throws(BrokerError) -> AccessToken {
        if case .invalidGrant = error {
            // Another process may have refreshed with the same token and won: use its pair.
            if let latest = try await readToken(owner), latest.record.version != record.version,
                latest.record.state != .needsReinstall
            {
                return AccessToken(
                    owner: owner, token: latest.accessToken, scopes: latest.record.scopes,
                    expiresAt: latest.record.expiresAt, version: latest.record.version)
            }
            if let token = try await exchangeAgain(owner, record) { return token }
            try await recordFailure(owner, record, error.description, needsReinstall: true, outcomeUnknown: false)
            logger.error("refresh token refused; installation needs reinstall", metadata: ["owner": "\(owner)"])
            throw .needsReinstall(owner)
        }
        // A transient failure may have come after HighLevel rotated the token (a lost answer).
        try await recordFailure(owner, record, error.description, needsReinstall: false, outcomeUnknown: error.isTransient)
        logger.warning(
            "token refresh failed",
            metadata: [
                "owner": "\(owner)", "error": "\(error)", "failures": "\(record.consecutiveFailures + 1)",
            ])
        if current.expiresAt > Date() { return current }
        throw .unavailable(owner, reason: error.description)
    }

    /// Records a failed renewal of `record`'s version and when to try again (backing off per failure).
    private func recordFailure(
        _ owner: TokenOwner, _ record: TokenRecord, _ error: String, needsReinstall: Bool, outcomeUnknown: Bool
    ) async throws(BrokerError) {
        let failures = record.consecutiveFailures + 1
        let delay = min(settings.maxBackoff, settings.baseBackoff * pow(2, Double(failures - 1)))
        let jittered = delay * Double.random(in: 0.8...1.2)
        do {
            try await vault.recordFailure(
                owner, version: record.version, error: error, needsReinstall: needsReinstall,
                nextAttemptAt: needsReinstall ? nil : Date().addingTimeInterval(jittered), refreshOutcomeUnknown: outcomeUnknown)
        } catch {
            logger.error("cannot record refresh failure", metadata: ["owner": "\(owner)", "error": "\(error)"])
        }
    }

    /// Obtains a location's token from its company's token (`POST /oauth/locationToken`).
    private func exchange(locationId: String, replacing version: Int?) async throws(BrokerError) -> AccessToken {
        let owner = TokenOwner.location(locationId)
        let installation: Installation?
        do { installation = try await vault.installation(owner) } catch { throw .vault(error) }
        guard let installation, installation.status != .uninstalled, let companyId = installation.companyId else {
            throw .notInstalled(owner)
        }
        let company = try await accessToken(for: .company(companyId))
        guard company.scopes.contains("oauth.write") else {
            throw .exchangeNotPermitted(location: locationId, company: companyId)
        }
        let response: TokenResponse
        do {
            response = try await client.locationToken(companyToken: company.token, companyId: companyId, locationId: locationId)
        } catch {
            observe("exchange", Self.outcome(error))
            logger.warning("location token exchange failed", metadata: ["owner": "\(owner)", "error": "\(error)"])
            throw error.isTransient ? .unavailable(owner, reason: error.description) : .notInstalled(owner)
        }
        return try await storeRotated(owner, response.grant(origin: .exchange), kind: "exchange", replacing: version)
    }

    /// A location's token obtained again from its company's, when its refresh token cannot be
    /// trusted; nil when no exchange can help (a company, no company token or no `oauth.write`, or
    /// HighLevel refuses the exchange), so the caller falls back. Throws only what may pass (HighLevel
    /// or the vault unavailable): the mark of the interrupted refresh stays for the next attempt.
    private func exchangeAgain(_ owner: TokenOwner, _ record: TokenRecord) async throws(BrokerError) -> AccessToken? {
        guard case .location(let locationId) = owner else { return nil }
        do {
            let token = try await exchange(locationId: locationId, replacing: record.version)
            logger.notice("location token obtained again from its company's", metadata: ["owner": "\(owner)"])
            return token
        } catch {
            switch error {
            case .unavailable:
                try await recordFailure(owner, record, error.description, needsReinstall: false, outcomeUnknown: true)
                throw error
            case .vault: throw error
            case .notInstalled, .needsReinstall, .exchangeNotPermitted:
                logger.warning("the location's token cannot be exchanged again", metadata: ["owner": "\(owner)", "error": "\(error)"])
                return nil
            }
        }
    }

    private func resolveLostRace(_ owner: TokenOwner, error: VaultError) async throws(BrokerError) -> BrokerError {
        guard case .versionConflict = error, let latest = try await readToken(owner) else { return .vault(error) }
        return .unavailable(owner, reason: "token changed during refresh (now version \(latest.record.version)); retry")
    }

    private func readToken(_ owner: TokenOwner) async throws(BrokerError) -> StoredToken? {
        do { return try await vault.token(for: owner) } catch { throw .vault(error) }
    }

    private static func outcome(_ error: OAuthError) -> String {
        switch error {
        case .invalidGrant: "invalid_grant"
        case .transient: "transient_failure"
        case .invalidClient, .rejected, .malformedResponse: "rejected"
        }
    }

    private static func accessToken(_ owner: TokenOwner, _ grant: TokenGrant, version: Int) -> AccessToken {
        AccessToken(owner: owner, token: grant.accessToken, scopes: grant.scopes, expiresAt: grant.expiresAt, version: version)
    }
}
