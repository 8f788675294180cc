import Foundation

/// Rows to the vault's values, for both stores. Columns are named as in both schemas.
extension VaultRow {
    /// A `tokens` row joined with its installation's `company_id`.
    func tokenRecord() -> TokenRecord {
        TokenRecord(
            owner: TokenOwner(kind: text("kind") ?? "", id: text("owner_id") ?? "")!,
            companyId: text("company_id"),
            scopes: words("scopes"),
            expiresAt: date("expires_at") ?? .distantPast,
            version: integer("version") ?? 0,
            origin: text("origin").flatMap(TokenOrigin.init(rawValue:)) ?? .code,
            obtainedAt: date("obtained_at") ?? .distantPast,
            hasRefreshToken: blob("refresh_token") != nil,
            lastRefreshAt: date("last_refresh_at"),
            refreshStartedAt: date("refresh_started_at"),
            lastError: text("last_error"),
            consecutiveFailures: integer("consecutive_failures") ?? 0,
            nextAttemptAt: date("next_attempt_at"),
            state: text("state").flatMap(TokenState.init(rawValue:)) ?? .active)
    }

    /// A `webhook_events` row with a follow-up (nil for a kind this release does not know).
    func followUp() -> WebhookFollowUp? {
        guard let webhookId = text("webhook_id"), let kind = text("follow_up").flatMap(WebhookFollowUp.Kind.init(rawValue:)) else {
            return nil
        }
        return WebhookFollowUp(webhookId: webhookId, kind: kind, locationId: text("location_id"), companyId: text("company_id"))
    }

    /// The same row with its secrets opened.
    func storedToken(keyring: EncryptionKeyring) throws(VaultError) -> StoredToken {
        let record = tokenRecord()
        let access = try keyring.open(blob("access_token") ?? Data(), context: SealContext.access(record.owner))
        let refresh: Secret?
        if let sealed = blob("refresh_token") {
            refresh = Secret(try keyring.open(sealed, context: SealContext.refresh(record.owner)))
        } else {
            refresh = nil
        }
        return StoredToken(record: record, accessToken: Secret(access), refreshToken: refresh)
    }

    func installation() -> Installation {
        Installation(
            owner: TokenOwner(kind: text("kind") ?? "", id: text("owner_id") ?? "")!,
            companyId: text("company_id"),
            grantedScopes: words("granted_scopes"),
            isBulk: (integer("is_bulk") ?? 0) != 0,
            planId: text("plan_id"),
            userId: text("user_id"),
            source: text("source").flatMap(Installation.Source.init(rawValue:)) ?? .install,
            status: text("status").flatMap(Installation.Status.init(rawValue:)) ?? .installed,
            installedAt: date("installed_at") ?? .distantPast,
            uninstalledAt: date("uninstalled_at"))
    }

    func auditEntry() -> AuditEntry {
        var record = AuditRecord(
            at: date("at") ?? .distantPast, kind: text("kind").flatMap(AuditRecord.Kind.init(rawValue:)) ?? .admin, subject: text("subject") ?? "",
            decision: text("decision") ?? "")
        record.requestId = text("request_id")
        record.traceId = text("trace_id")
        record.client = text("client")
        record.keyPrefix = text("key_prefix")
        record.location = text("location")
        record.company = text("company")
        record.code = text("code")
        record.rule = text("rule")
        record.policyRevision = text("policy_revision")
        record.upstreamStatus = integer("upstream_status")
        record.latencyMs = real("latency_ms")
        record.detail = text("detail")
        return AuditEntry(id: Int64(integer("id") ?? 0), record: record, previousHash: text("previous_hash") ?? "", hash: text("hash") ?? "")
    }

    func auditBlock() throws(VaultError) -> AuditBlock {
        guard let firstId = integer("first_id"), let lastId = integer("last_id"), let previousHash = text("previous_hash"),
            let lastHash = text("last_hash"), let earliest = date("earliest"), let latest = date("latest"), let entries = blob("entries")
        else { throw .database("an audit block row is incomplete") }
        return AuditBlock(
            firstId: Int64(firstId), lastId: Int64(lastId), previousHash: previousHash, lastHash: lastHash, earliest: earliest, latest: latest,
            bytes: [UInt8](entries))
    }

    func webhookEvent(keyring: EncryptionKeyring) throws(VaultError) -> WebhookEvent {
        let id = text("webhook_id") ?? ""
        let payload: Data?
        if let sealed = blob("payload") {
            payload = Data(try keyring.open(sealed, context: SealContext.webhook(id)).utf8)
        } else {
            payload = nil
        }
        return WebhookEvent(
            webhookId: id, type: text("type") ?? "", scopes: words("scopes"), locationId: text("location_id"),
            companyId: text("company_id"), payload: payload, traceParent: text("trace_parent"))
    }

    /// A `webhook_deliveries` row joined with its event's type, location and payload.
    func dueDelivery(keyring: EncryptionKeyring) throws(VaultError) -> DueDelivery {
        let event = try webhookEvent(keyring: keyring)
        return DueDelivery(
            id: Int64(integer("id") ?? 0), webhookId: event.webhookId, client: text("client") ?? "", type: event.type,
            locationId: event.locationId, attempts: integer("attempts") ?? 0, payload: event.payload ?? Data(),
            createdAt: date("created_at") ?? .distantPast, traceParent: event.traceParent)
    }

    /// A `webhook_deliveries` row joined with its event's type and location.
    func deliveryRecord() -> DeliveryRecord {
        let status = text("status") ?? ""
        return DeliveryRecord(
            id: Int64(integer("id") ?? 0), webhookId: text("webhook_id") ?? "", client: text("client") ?? "",
            type: text("type") ?? "", locationId: text("location_id"), status: status, attempts: integer("attempts") ?? 0,
            nextAttemptAt: status == "pending" ? date("next_attempt_at") : nil, lastStatus: integer("last_status"),
            lastError: text("last_error"), createdAt: date("created_at") ?? .distantPast, deliveredAt: date("delivered_at"))
    }

    /// A row of the backlog query: `client`, `pending`, `failed`, `oldest`, `failing`.
    func deliveryBacklog() -> DeliveryBacklog {
        DeliveryBacklog(
            client: text("client") ?? "", pending: integer("pending") ?? 0, failed: integer("failed") ?? 0,
            oldestPendingAt: date("oldest"), failingSince: date("failing"))
    }
}
