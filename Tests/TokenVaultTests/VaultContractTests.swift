import Foundation
import GatewayTestSupport
import Testing
import TokenVault

/// What every store promises, run against SQLite and PostgreSQL alike.
@Suite("Vault contract", .serialized, .load(.heavy))
struct VaultContractTests {
    let keyA = EncryptionKeyring.generateKeyBase64()
    let keyB = EncryptionKeyring.generateKeyBase64()

    private func keyring(_ current: String, previous: [String] = []) throws -> EncryptionKeyring {
        try EncryptionKeyring(currentBase64: current, previousBase64: previous)
    }

    private func grant(_ access: String, _ refresh: String?, origin: TokenOrigin = .code) -> TokenGrant {
        TokenGrant(
            accessToken: Secret(access), refreshToken: refresh.map(Secret.init), scopes: ["contacts.readonly", "oauth.write"],
            expiresAt: Date().addingTimeInterval(3600), origin: origin)
    }

    private func installation(_ owner: TokenOwner) -> Installation {
        Installation(owner: owner, companyId: "cmp1", grantedScopes: ["contacts.readonly"], source: .install)
    }

    @Test(arguments: VaultBackend.allCases)
    func tokensRoundTripSealed(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        let access = "AT-\(UUID().uuidString)"
        let refresh = "RT-\(UUID().uuidString)"
        let record = try await vault.install(installation(.company("cmp1")), grant: grant(access, refresh))
        #expect(record.version == 1)
        let stored = try #require(try await vault.token(for: .company("cmp1")))
        #expect(stored.accessToken.revealed == access)
        #expect(stored.refreshToken?.revealed == refresh)
        #expect(stored.record.scopes == ["contacts.readonly", "oauth.write"])
        #expect(stored.record.companyId == "cmp1")
        // What is stored is ciphertext.
        let columns = try await database.strings(
            backend == .sqlite ? "SELECT hex(access_token) FROM tokens" : "SELECT encode(access_token, 'hex') FROM tokens")
        #expect(columns.count == 1)
        #expect(!columns[0].lowercased().contains(Data(access.utf8).map { String(format: "%02x", $0) }.joined()))
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func compareAndSwapRejectsAStaleVersion(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        let second = try await vault.store(grant("a2", "r2", origin: .refresh), for: .company("cmp1"), replacing: 1)
        #expect(second.version == 2)
        #expect(second.lastRefreshAt != nil)
        await #expect(throws: VaultError.versionConflict(owner: "company:cmp1", expected: 1)) {
            try await vault.store(grant("a3", "r3", origin: .refresh), for: .company("cmp1"), replacing: 1)
        }
        #expect(try await vault.token(for: .company("cmp1"))?.accessToken.revealed == "a2")
        await #expect(throws: VaultError.versionConflict(owner: "company:cmp1", expected: 0)) {
            try await vault.store(grant("a4", "r4", origin: .exchange), for: .company("cmp1"), replacing: nil)
        }
        await #expect(throws: VaultError.notFound("installation location:nope")) {
            try await vault.store(grant("a", nil, origin: .exchange), for: .location("nope"), replacing: nil)
        }
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func keysRotateOldReadableNewWritten(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let first = try await database.open(keyring(keyA))
        try await first.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await first.close()
        let rotated = try await database.open(keyring(keyB, previous: [keyA]))
        #expect(try await rotated.token(for: .company("cmp1"))?.accessToken.revealed == "a1")
        try await rotated.install(installation(.location("loc1")), grant: grant("l1", "lr1"))
        #expect(
            try await database.strings("SELECT key_id FROM tokens ORDER BY kind") == [rotated.keyring.previous[0].id, rotated.keyring.current.id])
        try await rotated.close()

        // Without the old key the database is refused, naming the missing key id.
        await #expect {
            try await database.open(keyring(keyB))
        } throws: { error in
            guard case .unknownKeys(let found, let configured) = error as? VaultError else { return false }
            return found == [rotated.keyring.previous[0].id] && configured == [rotated.keyring.current.id]
        }
    }

    @Test(arguments: VaultBackend.allCases)
    func aWrongKeyIsAClearStartupError(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.close()
        await #expect {
            try await database.open(keyring(keyB))
        } throws: { error in
            "\(error)".contains("configure the old key under storage.previous_encryption_keys")
        }
    }

    @Test(arguments: VaultBackend.allCases)
    func aCiphertextMovedToAnotherRowDoesNotOpen(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.install(installation(.company("cmp2")), grant: grant("a2", "r2"))
        try await database.execute(
            """
            UPDATE tokens SET access_token = (SELECT access_token FROM tokens WHERE owner_id = 'cmp1') WHERE owner_id = 'cmp2'
            """)
        await #expect(throws: VaultError.decryptionFailed(context: "company:cmp2/access")) {
            try await vault.token(for: .company("cmp2"))
        }
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func restartKeepsInstallationsTokensAndFailures(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.linkLocations(["loc1", "loc2"], toCompany: "cmp1", source: .approved)
        try await vault.markRefreshStarted(.company("cmp1"), version: 1)
        try await vault.recordFailure(
            .company("cmp1"), version: 1, error: "HTTP 503", needsReinstall: false, nextAttemptAt: nil, refreshOutcomeUnknown: false)
        try await vault.close()
        let reopened = try await database.open(keyring(keyA))
        let stored = try #require(try await reopened.token(for: .company("cmp1")))
        #expect(stored.accessToken.revealed == "a1")
        #expect(stored.record.consecutiveFailures == 1)
        #expect(stored.record.lastError == "HTTP 503")
        #expect(stored.record.state == .refreshFailing)
        #expect(stored.record.refreshStartedAt == nil)
        let locations = try await reopened.installations().filter { $0.owner.kind == "location" }
        #expect(locations.map(\.owner) == [.location("loc1"), .location("loc2")])
        #expect(locations.allSatisfy { $0.companyId == "cmp1" && $0.source == .approved })
        #expect(try await reopened.locationsDerived(fromCompany: "cmp1") == ["loc1", "loc2"])
        try await reopened.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func needsReinstallMarksTokenAndInstallation(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.recordFailure(
            .company("cmp1"), version: 1, error: "invalid_grant", needsReinstall: true, nextAttemptAt: nil, refreshOutcomeUnknown: false)
        #expect(try await vault.token(for: .company("cmp1"))?.record.state == .needsReinstall)
        #expect(try await vault.installation(.company("cmp1"))?.status == .needsReinstall)
        await #expect(throws: VaultError.versionConflict(owner: "company:cmp1", expected: 7)) {
            try await vault.recordFailure(
                .company("cmp1"), version: 7, error: "x", needsReinstall: false, nextAttemptAt: nil, refreshOutcomeUnknown: false)
        }
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func uninstallDeletesTheTokenRow(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        try await vault.install(installation(.location("loc1")), grant: grant("secret-access-123", "secret-refresh-456"))
        try await vault.uninstall(.location("loc1"))
        #expect(try await vault.token(for: .location("loc1")) == nil)
        #expect(try await vault.installation(.location("loc1"))?.status == .uninstalled)
        #expect(try await database.strings("SELECT CAST(COUNT(*) AS TEXT) FROM tokens") == ["0"])
        // Re-linking an uninstalled location through its company installs it again.
        try await vault.linkLocations(["loc1"], toCompany: "cmp1", source: .webhook)
        #expect(try await vault.installation(.location("loc1"))?.status == .installed)
        try await vault.close()
    }

    /// An INSTALL's or UNINSTALL's effect is stored with its event, and its follow-up stays with the
    /// event until done; a repeated event changes nothing.
    @Test(arguments: VaultBackend.allCases)
    func lifecycleChangesAreStoredWithTheirEvent(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        func event(_ id: String, _ type: String) -> WebhookEvent {
            WebhookEvent(webhookId: id, type: type, scopes: [], locationId: "loc9", companyId: "cmp1", payload: nil)
        }
        let install = LifecycleChange.install(.location("loc9"), companyId: "cmp1", planId: "plan", followUp: .exchange)
        #expect(try await vault.rememberWebhook(event("wh-1", "INSTALL"), change: install, retention: 3600))
        #expect(try await vault.installation(.location("loc9"))?.source == .webhook)
        #expect(try await vault.pendingFollowUps() == [WebhookFollowUp(webhookId: "wh-1", kind: .exchange, locationId: "loc9", companyId: "cmp1")])
        // A follow-up pending is kept past the retention.
        #expect(try await vault.rememberWebhook(event("wh-2", "ContactCreate"), retention: 0, now: Date().addingTimeInterval(10)))
        #expect(try await vault.pendingFollowUps().count == 1)
        try await vault.finishFollowUp(webhookId: "wh-1")
        #expect(try await vault.pendingFollowUps().isEmpty)

        try await vault.install(installation(.location("loc9")), grant: grant("a", "r"))
        #expect(try await vault.rememberWebhook(event("wh-3", "UNINSTALL"), change: .uninstall([.location("loc9")]), retention: 3600))
        #expect(try await vault.installation(.location("loc9"))?.status == .uninstalled)
        #expect(try await vault.token(for: .location("loc9")) == nil)
        // The INSTALL again, as a repeat: remembered already, so it reinstates nothing.
        #expect(try await vault.rememberWebhook(event("wh-1", "INSTALL"), change: install, retention: 3600) == false)
        #expect(try await vault.installation(.location("loc9"))?.status == .uninstalled)
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func oauthStatesAndCodesAreSingleUse(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        let state = try await vault.createOAuthState()
        #expect(try await vault.consumeOAuthState(state))
        #expect(try await vault.consumeOAuthState(state) == false)
        #expect(try await vault.consumeOAuthState("forged-\(state)") == false)
        let old = try await vault.createOAuthState(lifetime: 600, now: Date().addingTimeInterval(-601))
        #expect(try await vault.consumeOAuthState(old) == false)
        #expect(try await database.strings("SELECT CAST(COUNT(*) AS TEXT) FROM oauth_states") == ["0"])

        #expect(try await vault.claimAuthorizationCode("code-1"))
        #expect(try await vault.claimAuthorizationCode("code-1") == false)
        try await vault.releaseAuthorizationCode("code-1")
        #expect(try await vault.claimAuthorizationCode("code-1"))
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func aRenewalLeaseHasOneHolderUntilItLapses(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        let now = Date()
        let owner = TokenOwner.location("loc1")
        #expect(try await vault.acquireRenewalLease(owner, holder: "a", until: now.addingTimeInterval(30), now: now))
        #expect(try await vault.acquireRenewalLease(owner, holder: "b", until: now.addingTimeInterval(30), now: now) == false)
        // The holder extends it; another takes it once it lapsed.
        #expect(try await vault.acquireRenewalLease(owner, holder: "a", until: now.addingTimeInterval(60), now: now))
        #expect(try await vault.acquireRenewalLease(owner, holder: "b", until: now.addingTimeInterval(90), now: now.addingTimeInterval(61)))
        // Only the holder releases it.
        try await vault.releaseRenewalLease(owner, holder: "a")
        #expect(try await vault.acquireRenewalLease(owner, holder: "c", until: now.addingTimeInterval(90), now: now.addingTimeInterval(62)) == false)
        try await vault.releaseRenewalLease(owner, holder: "b")
        #expect(try await vault.acquireRenewalLease(owner, holder: "c", until: now.addingTimeInterval(90), now: now.addingTimeInterval(62)))
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func anInterruptedRefreshIsNotedOnlyOnceItsLeaseLapsed(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        let now = Date()
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.markRefreshStarted(.company("cmp1"), version: 1)
        #expect(try await vault.acquireRenewalLease(.company("cmp1"), holder: "live", until: now.addingTimeInterval(30), now: now))
        #expect(try await vault.noteInterruptedRefreshes(now: now).isEmpty)
        #expect(try await vault.noteInterruptedRefreshes(now: now.addingTimeInterval(31)) == [.company("cmp1")])
        let record = try #require(try await vault.token(for: .company("cmp1"))?.record)
        #expect(record.state == .refreshFailing)
        #expect(record.lastError?.contains("refresh interrupted") == true)
        try await vault.close()
    }

    /// A claim for 60 s by a replica that is never stale.
    static func claim(_ now: Date, by holder: String = "replica@host/1/1") -> DeliveryClaim {
        DeliveryClaim(holder: holder, until: now.addingTimeInterval(60), replicasSeenSince: .distantPast)
    }

    @Test(arguments: VaultBackend.allCases)
    func aRestartedReplicaTakesBackWhatItsGoneIncarnationHeld(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        let now = Date()
        let host = ProcessInfo.processInfo.hostName
        // 4,194,305 is above the largest pid Linux gives: that incarnation is gone.
        let gone = ReplicaIdentity(name: "replica-a", incarnation: "\(host)/4194305/1")
        // One on another host may still run (a misconfigured twin): never taken from it.
        let elsewhere = ReplicaIdentity(name: "replica-a", incarnation: "other-host/1/1")
        let other = ReplicaIdentity(name: "replica-b", incarnation: "\(host)/4194305/2")
        for (owner, identity) in [(TokenOwner.company("c1"), gone), (.company("c2"), elsewhere), (.company("c3"), other)] {
            #expect(try await vault.acquireRenewalLease(owner, holder: identity.holder, until: now.addingTimeInterval(60), now: now))
        }
        #expect(try await vault.heartbeat(replica: gone, now: now, staleBefore: now.addingTimeInterval(-15)) == 1)

        let restarted = ReplicaIdentity(name: "replica-a")
        #expect(try await vault.replicaStarted(restarted, now: now).leases == 1)
        #expect(try await vault.acquireRenewalLease(.company("c1"), holder: "x", until: now.addingTimeInterval(60), now: now))
        #expect(try await vault.acquireRenewalLease(.company("c2"), holder: "x", until: now.addingTimeInterval(60), now: now) == false)
        #expect(try await vault.acquireRenewalLease(.company("c3"), holder: "x", until: now.addingTimeInterval(60), now: now) == false)
        // Its heartbeat row was replaced, not added to.
        #expect(try await vault.heartbeat(replica: restarted, now: now, staleBefore: now.addingTimeInterval(-15)) == 1)
        try await vault.close()
    }

    @Test(arguments: VaultBackend.allCases)
    func webhooksAreRememberedOnceAndFannedOut(_ backend: VaultBackend) async throws {
        let database = try await backend.database()
        let vault = try await database.open(keyring(keyA))
        let payload = Data(#"{"type":"ContactCreate","id":"c1"}"#.utf8)
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let event = WebhookEvent(
            webhookId: "wh-1", type: "ContactCreate", scopes: ["contacts.readonly"], locationId: "loc1", companyId: nil, payload: payload,
            traceParent: trace)
        #expect(try await vault.rememberWebhook(event, subscribers: ["crm", "billing"], retention: 3600))
        #expect(try await vault.rememberWebhook(event, subscribers: ["crm", "billing"], retention: 3600) == false)
        #expect(try await vault.webhookEvents(type: "ContactCreate").map(\.event.payload) == [payload])

        let now = Date().addingTimeInterval(1)
        let slots = DeliverySlots(total: 4, perClient: 1, busy: [], busyPerClient: [:])
        let due = try await vault.claimDueDeliveries(now: now, claim: Self.claim(now), slots: slots)
        #expect(Set(due.map(\.client)) == ["crm", "billing"])
        #expect(due.allSatisfy { $0.payload == payload && $0.locationId == "loc1" && $0.traceParent == trace })
        let crm = try #require(due.first { $0.client == "crm" })
        try await vault.recordDelivery(crm.id, .retry(at: now.addingTimeInterval(-1), status: 503, error: "HTTP 503"))
        let billing = try #require(due.first { $0.client == "billing" })
        try await vault.recordDelivery(billing.id, .failed(status: 500, error: "HTTP 500"))
        let backlog = try await vault.deliveryBacklog()
        #expect(backlog.map(\.client) == ["billing", "crm"])
        #expect(backlog.map(\.pending) == [0, 1])
        #expect(backlog.map(\.failed) == [1, 0])
        #expect(backlog[1].failingSince != nil)
        #expect(try await vault.deliveries(client: "billing", status: "failed").map(\.lastStatus) == [500])
        #expect(try await vault.retryDeliveries(client: "billing", since: .distantPast) == 1)
        #expect(try await vault.retryDelivery(999_999) == false)
        #expect(try await vault.nextDeliveryDue() != nil)
        // A client at its share is skipped; one busy id is never handed out again.
        let busy = DeliverySlots(total: 4, perClient: 1, busy: [crm.id], busyPerClient: ["crm": 1])
        let later = Date().addingTimeInterval(1)
        #expect(try await vault.claimDueDeliveries(now: later, claim: Self.claim(later), slots: busy).map(\.client) == ["billing"])
        try await vault.close()
    }
}
