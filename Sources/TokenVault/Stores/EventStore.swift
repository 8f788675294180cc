import Foundation

/// HighLevel's events and their fan-out: each event remembered once with its deliveries (and an
/// INSTALL's or UNINSTALL's effect) in one transaction, then the deliveries claimed, attempted,
/// recorded and retried.
package protocol EventStore: Sendable {
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

/// The forms callers use: now as the time, defaults for listings.
extension EventStore {
    /// Stores an event unless its id was seen within `retention` (see the requirement).
    package func rememberWebhook(
        _ event: WebhookEvent, subscribers: [String] = [], change: LifecycleChange? = nil, retention: TimeInterval, now: Date = Date()
    ) async throws(VaultError) -> Bool {
        try await rememberWebhook(
            event, subscribers: subscribers, change: change, purgeBefore: now.addingTimeInterval(-retention), now: now)
    }

    package func recordDelivery(_ id: Int64, _ outcome: DeliveryOutcome) async throws(VaultError) {
        try await recordDelivery(id, outcome, at: Date())
    }

    package func deliveries(client: String? = nil, status: String? = nil, type: String? = nil) async throws(VaultError) -> [DeliveryRecord] {
        try await deliveries(client: client, status: status, type: type, limit: 500)
    }

    package func retryDelivery(_ id: Int64) async throws(VaultError) -> Bool {
        try await retryDelivery(id, now: Date())
    }

    package func retryDeliveries(client: String?, since: Date) async throws(VaultError) -> Int {
        try await retryDeliveries(client: client, since: since, now: Date())
    }
}
