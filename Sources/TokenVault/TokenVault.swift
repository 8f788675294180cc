import Foundation

/// Everything the gateway keeps: installations, their tokens (sealed with AES-256-GCM, bound to
/// their row), OAuth states and codes, HighLevel's webhook events and their deliveries.
///
/// One interface, two stores: `SQLiteVault` (embedded, one process) and `PostgresVault` (shared by
/// any number of replicas). The gateway depends on this protocol only, and one contract test suite
/// runs against both, so a behaviour holds whichever store is configured.
///
/// Durability is the contract: a method that writes returns only after its write is committed,
/// because HighLevel rotates refresh tokens and losing the newest one loses the installation.
/// Token writes are compare-and-swap on a version, so a refresh that lost a race is detected
/// instead of overwriting a newer pair.
package protocol TokenVault: Sendable {
    /// The keys that seal and open what the vault holds.
    var keyring: EncryptionKeyring { get }
    /// Where the data lives, for logs and errors: a file path, or host, port and database (never a password).
    var location: String { get }

    /// Answers when the database does (readiness).
    func ping() async throws(VaultError)
    /// Closes the database (after every service has stopped).
    func close() async throws(VaultError)
    /// Runs until cancelled, calling `onChange` for every owner whose token or installation another
    /// process changed (a renewal, a revoke, an uninstall, a reinstall), so caches are dropped at
    /// once. A store shared by one process only returns when cancelled.
    func watchChanges(_ onChange: @escaping @Sendable (TokenOwner) -> Void) async throws(VaultError)

    // MARK: Installations

    func installation(_ owner: TokenOwner) async throws(VaultError) -> Installation?
    func installations() async throws(VaultError) -> [Installation]
    /// Records locations of a company (from `approvedLocations`, `installedLocations` or a webhook)
    /// without touching what is known of them already; an uninstalled one becomes installed again.
    func linkLocations(_ locationIds: [String], toCompany companyId: String, source: Installation.Source, at date: Date) async throws(VaultError)
    /// The locations linked to a company that got their access through it (not installed on their own).
    func locationsDerived(fromCompany companyId: String) async throws(VaultError) -> [String]
    /// Marks an installation uninstalled and deletes its token row (the ciphertexts go, not just a flag).
    func uninstall(_ owner: TokenOwner, at date: Date) async throws(VaultError)

    // MARK: Tokens

    /// Stores code exchanges: each installation and its token, all in one transaction. A new
    /// install supersedes whatever token was stored for the owner.
    func install(_ installs: [(Installation, TokenGrant)]) async throws(VaultError) -> [TokenRecord]
    /// Stores a refreshed or exchanged pair. `replacing` is the version the caller read: nil means the
    /// owner must have no token yet. Throws `versionConflict` when the stored token is no longer that
    /// version (another refresh won); nothing is written then.
    func store(_ grant: TokenGrant, for owner: TokenOwner, replacing expected: Int?) async throws(VaultError) -> TokenRecord
    /// Refreshes that were started but whose result was never stored (the process died in between)
    /// and whose renewal lease has lapsed, so no live process is still on them. Each is marked
    /// `refresh_failing` with an explanation, and keeps its mark until the next renewal acts on it:
    /// if HighLevel did complete that refresh, the stored refresh token is dead, so the renewal
    /// obtains a location's token by exchange rather than with it.
    func noteInterruptedRefreshes(now: Date) async throws(VaultError) -> [TokenOwner]
    /// Records, durably, that a refresh of `version` is about to go upstream.
    func markRefreshStarted(_ owner: TokenOwner, version: Int, at date: Date) async throws(VaultError)
    /// Records a failed refresh or exchange of `version`: the error (never a secret), the failure count,
    /// when to try again, and whether the installation must be reinstalled. The mark of a refresh in
    /// progress is cleared, unless `refreshOutcomeUnknown` (HighLevel may have rotated the refresh
    /// token without the answer arriving): then it stays, for the next renewal to act on.
    func recordFailure(
        _ owner: TokenOwner, version: Int, error message: String, needsReinstall: Bool, nextAttemptAt: Date?,
        refreshOutcomeUnknown: Bool
    ) async throws(VaultError)
    /// The owner's token, decrypted; nil when there is none.
    func token(for owner: TokenOwner) async throws(VaultError) -> StoredToken?
    /// Every stored token's metadata, no secrets.
    func tokenRecords() async throws(VaultError) -> [TokenRecord]
    /// The tokens that expire before `date`: what a refresh pass needs, without reading every installation.
    func tokenRecords(expiringBefore date: Date) async throws(VaultError) -> [TokenRecord]
    /// Marks the owner's token expired now (operators forcing a renewal; the refresh storm benchmark).
    func expire(_ owner: TokenOwner) async throws(VaultError)

    // MARK: Renewal leases

    /// Takes, or extends, the right to renew `owner`'s token: true when `holder` holds it until
    /// `until` (it was free, had lapsed, or was already `holder`'s). Only the holder calls HighLevel,
    /// so a refresh or exchange stays single-flight across processes and replicas.
    func acquireRenewalLease(_ owner: TokenOwner, holder: String, until: Date, now: Date) async throws(VaultError) -> Bool
    /// Gives the lease back (when `holder` still has it).
    func releaseRenewalLease(_ owner: TokenOwner, holder: String) async throws(VaultError)

    // MARK: Replicas

    /// Records that `replica` is alive at `now`, forgets replicas not seen since `staleBefore`, and
    /// returns how many are alive (this one included): what a replica divides shared budgets by.
    func heartbeat(replica: ReplicaIdentity, now: Date, staleBefore: Date) async throws(VaultError) -> Int
    /// A replica starts: takes back at once the renewal leases and delivery claims that an earlier
    /// incarnation of the same name held and that are provably gone (`ReplicaIdentity.succeeds`),
    /// and records its heartbeat under its name. Returns how many leases and claims it took back.
    func replicaStarted(_ replica: ReplicaIdentity, now: Date) async throws(VaultError) -> (leases: Int, claims: Int)

    // MARK: Install flow

    /// Stores the hash of a new state valid until `expiresAt`; expired states are purged on the way.
    func insertOAuthState(hash: String, expiresAt: Date, now: Date) async throws(VaultError)
    /// Consumes a state by its hash: true exactly once for a state that exists and has not expired.
    /// An expired state is deleted too, so it can never be tried again.
    func consumeOAuthState(hash: String, now: Date) async throws(VaultError) -> Bool
    /// Claims an authorization code (by hash) for its one exchange: true the first time it is seen
    /// since `purgeBefore`; older claims are purged on the way.
    func claimAuthorizationCode(hash: String, now: Date, purgeBefore: Date) async throws(VaultError) -> Bool
    /// Gives back a claim whose exchange never reached a verdict from HighLevel.
    func releaseAuthorizationCode(hash: String) async throws(VaultError)

    // MARK: Webhooks

    /// Stores an event unless its id was seen since `purgeBefore`, with one pending fan-out row per
    /// subscriber, in one transaction; false for a repeat (nothing is fanned out twice). Older
    /// events are purged on the way, except those still pending for a subscriber.
    /// `change` (an INSTALL's or UNINSTALL's effect) is made in the same transaction, or not at all.
    func rememberWebhook(
        _ event: WebhookEvent, subscribers: [String], change: LifecycleChange?, purgeBefore: Date, now: Date
    ) async throws(VaultError) -> Bool
    /// Follow-ups of remembered INSTALL events not yet marked done, oldest first.
    func pendingFollowUps() async throws(VaultError) -> [WebhookFollowUp]
    /// Marks an event's follow-up done.
    func finishFollowUp(webhookId: String) async throws(VaultError)
    /// Stored events of a type, payloads opened, oldest first.
    func webhookEvents(type: String) async throws(VaultError) -> [(event: WebhookEvent, receivedAt: Date)]

    // MARK: Deliveries

    /// Claims pending deliveries due by `now` that fit `slots`, oldest first, payloads opened, as
    /// `claim`: none another live replica has claimed and not yet given up. (One process serves a
    /// SQLite file, so there its deliverer's own `slots.busy` is the whole claim.)
    func claimDueDeliveries(now: Date, claim: DeliveryClaim, slots: DeliverySlots) async throws(VaultError) -> [DueDelivery]
    /// When the next pending delivery is due, if any is pending.
    func nextDeliveryDue() async throws(VaultError) -> Date?
    /// Records an attempt's outcome (the attempt count goes up by one; the claim is released).
    func recordDelivery(_ id: Int64, _ outcome: DeliveryOutcome, at now: Date) async throws(VaultError)
    /// Deliveries, newest first, optionally of one client, status or event type.
    func deliveries(client: String?, status: String?, type: String?, limit: Int) async throws(VaultError) -> [DeliveryRecord]
    /// An operator's retry: the delivery is pending again, due now, with a fresh schedule. False
    /// when no such delivery exists.
    func retryDelivery(_ id: Int64, now: Date) async throws(VaultError) -> Bool
    /// Replays a range: every failed delivery of `client` (or of every client) created since
    /// `since` is pending again; returns how many.
    func retryDeliveries(client: String?, since: Date, now: Date) async throws(VaultError) -> Int
    /// Per subscriber: what waits, what failed, since when.
    func deliveryBacklog() async throws(VaultError) -> [DeliveryBacklog]
}
