import Foundation
import GatewaySandbox
import GatewayTestSupport
import Logging
import Synchronization
import Testing

@testable import TokenVault

/// What only the PostgreSQL store does: several processes on one database.
@Suite("PostgreSQL vault", .serialized, .load(.heavy))
struct PostgresVaultTests {
    let keyring = try! EncryptionKeyring(currentBase64: EncryptionKeyring.generateKeyBase64())

    private func grant() -> TokenGrant {
        TokenGrant(
            accessToken: Secret("AT-\(UUID().uuidString)"), refreshToken: Secret("RT"), scopes: ["contacts.readonly"],
            expiresAt: Date().addingTimeInterval(3600), origin: .code)
    }

    @Test func replicasStartedTogetherMigrateOnce() async throws {
        let database = try await VaultBackend.postgres.database()
        let keyring = self.keyring
        let vaults = try await withThrowingTaskGroup(of: (any TokenVault).self) { group in
            for _ in 0..<4 { group.addTask { try await database.open(keyring) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(vaults.count == 4)
        let versions = (1...PostgresSchema.migrations.count).map(String.init)
        #expect(try await database.strings("SELECT CAST(version AS TEXT) FROM ghl_gateway_schema ORDER BY version") == versions)
        #expect(try await database.strings("SELECT CAST(COUNT(*) AS TEXT) FROM vault_keys") == ["1"])
        for vault in vaults { try await vault.close() }
    }

    @Test func aDatabaseOfANewerReleaseIsRefused() async throws {
        let database = try await VaultBackend.postgres.database()
        try await database.open(keyring).close()
        try await database.execute("INSERT INTO ghl_gateway_schema (version, name, applied_at) VALUES (99, 'v99', 0)")
        await #expect {
            try await database.open(keyring)
        } throws: { error in
            "\(error)".contains("schema is version 99, newer than this gateway's \(PostgresSchema.migrations.count)")
        }
    }

    @Test func theURLKeepsItsPasswordToItself() throws {
        let url = try PostgresURL("postgres://gw:s3cr%40t@db.internal:6543/ghl?sslmode=require")
        #expect(url.description == "postgres://db.internal:6543/ghl")
        #expect(url.username == "gw")
        #expect(url.tls == .require)
        #expect(try PostgresURL("postgresql://gw@db/ghl").tls == .verifyFull)
        for (bad, reason) in [
            ("mysql://gw:pw@db/ghl", "not a postgres:// URL"), ("postgres://gw:pw@db", "names no database"),
            ("postgres://gw:pw@db/ghl?sslmode=allow", "sslmode must be"), ("postgres://gw:pw@db/ghl?pool=3", "unknown URL parameter pool"),
        ] {
            #expect {
                try PostgresURL(bad)
            } throws: { error in
                "\(error)".contains(reason) && !"\(error)".contains("pw")
            }
        }
    }

    @Test func tlsIsVerifiedAgainstTheConfiguredAuthority() async throws {
        let certificate = try TestCertificate()
        let server = PostgresServer(tls: certificate)
        let plain = try await server.database()
        let directory = TemporaryDirectory()
        let authority = directory.write("ca.pem", certificate.certificatePEM)
        let stranger = directory.write("other-ca.pem", try TestCertificate().certificatePEM)
        func url(_ parameters: String) throws -> PostgresURL {
            try PostgresURL("postgres://postgres:not-the-password@localhost:\(plain.port)/\(plain.database)?\(parameters)")
        }
        let logger = Logger(label: "test-vault")
        let verified = try await PostgresVault.open(
            url: url("sslmode=verify-full&sslrootcert=\(authority)"), keyring: keyring, poolSize: 2, logger: logger)
        try await verified.ping()
        try await verified.close()
        let encrypted = try await PostgresVault.open(url: url("sslmode=require"), keyring: keyring, poolSize: 2, logger: logger)
        try await encrypted.close()
        // A server whose certificate another authority signed is refused, and the error keeps the password to itself.
        await #expect {
            try await PostgresVault.open(url: url("sslmode=verify-full&sslrootcert=\(stranger)"), keyring: keyring, poolSize: 2, logger: logger)
        } throws: { error in
            !"\(error)".contains("not-the-password") && "\(error)".contains("database error")
        }
        try await server.stop()
    }

    /// The test server's own start: a free port can be taken before the server binds it (the tests'
    /// outgoing connections take ports from the same range); it then starts on another.
    @Test func aTestServerWhosePortWasTakenStartsOnAnother() async throws {
        let taken = try LoopbackSocket(listening: true)
        defer { taken.close() }
        let server = PostgresServer(firstPort: taken.port)
        let database = try await server.database()
        #expect(database.port != taken.port)
        try await server.stop()
    }

    @Test func aChangeOnOneReplicaIsAnnouncedToTheOthers() async throws {
        let database = try await VaultBackend.postgres.database()
        let listener = try await database.open(keyring)
        let writer = try await database.open(keyring)
        let heard = Mutex<[TokenOwner]>([])
        let counter = ChangeCounter()
        let watch = Task {
            try await listener.watchChanges { owner in
                heard.withLock { $0.append(owner) }
                counter.increment()
            }
        }
        defer { watch.cancel() }
        // LISTEN starts on its own task: announce until the first change is heard (bounded).
        for attempt in 0..<30 where counter.count == 0 {
            try await writer.install(Installation(owner: .company("probe\(attempt)"), companyId: nil, source: .install), grant: grant())
            try? await withTimeout(.milliseconds(300)) { await counter.wait(after: 0) }
        }
        #expect(counter.count > 0)
        let before = counter.count
        try await listener.uninstall(.company("own"))
        try await writer.uninstall(.location("loc7"))
        try await withTimeout(.seconds(1)) { await counter.wait(after: before) }
        // Announced within a second; the listener's own uninstall was not announced back to it.
        #expect(heard.withLock { $0 }.last == .location("loc7"))
        #expect(!heard.withLock { $0 }.contains(.company("own")))
        watch.cancel()
        try await listener.close()
        try await writer.close()
    }

    @Test func aDeliveryIsClaimedByOneReplicaUntilItsClaimLapses() async throws {
        let database = try await VaultBackend.postgres.database()
        let one = try await database.open(keyring)
        let two = try await database.open(keyring)
        let event = WebhookEvent(webhookId: "wh-1", type: "ContactCreate", scopes: [], locationId: "loc1", companyId: nil, payload: Data("{}".utf8))
        #expect(try await one.rememberWebhook(event, subscribers: ["crm"], retention: 3600))
        // The same event posted to the other replica is a repeat.
        #expect(try await two.rememberWebhook(event, subscribers: ["crm"], retention: 3600) == false)
        let now = Date().addingTimeInterval(1)
        let first = ReplicaIdentity(name: "one")
        let second = ReplicaIdentity(name: "two")
        for replica in [first, second] { _ = try await one.heartbeat(replica: replica, now: now, staleBefore: now.addingTimeInterval(-15)) }
        let claim = { (replica: ReplicaIdentity, at: Date) in
            DeliveryClaim(holder: replica.holder, until: at.addingTimeInterval(60), replicasSeenSince: at.addingTimeInterval(-15))
        }
        let slots = DeliverySlots(total: 4, perClient: 2, busy: [], busyPerClient: [:])
        let claimed = try await one.claimDueDeliveries(now: now, claim: claim(first, now), slots: slots)
        #expect(claimed.count == 1)
        #expect(try await two.claimDueDeliveries(now: now, claim: claim(second, now), slots: slots).isEmpty)
        // The first replica's heartbeat goes stale (16 s on): its claim is void long before it lapses.
        let stale = now.addingTimeInterval(16)
        _ = try await two.heartbeat(replica: second, now: stale, staleBefore: stale.addingTimeInterval(-15))
        #expect(try await two.claimDueDeliveries(now: stale, claim: claim(second, stale), slots: slots).map(\.id) == claimed.map(\.id))
        try await one.close()
        try await two.close()
    }

    @Test func aRestartedReplicaTakesBackItsDeliveryClaimsAtOnce() async throws {
        let database = try await VaultBackend.postgres.database()
        let vault = try await database.open(keyring)
        let event = WebhookEvent(webhookId: "wh-2", type: "ContactCreate", scopes: [], locationId: "loc1", companyId: nil, payload: Data("{}".utf8))
        #expect(try await vault.rememberWebhook(event, subscribers: ["crm"], retention: 3600))
        let now = Date().addingTimeInterval(1)
        let killed = ReplicaIdentity(name: "replica-a", incarnation: "host/1/1")
        _ = try await vault.heartbeat(replica: killed, now: now, staleBefore: now.addingTimeInterval(-15))
        let slots = DeliverySlots(total: 4, perClient: 2, busy: [], busyPerClient: [:])
        let claim = { (replica: ReplicaIdentity) in
            DeliveryClaim(holder: replica.holder, until: now.addingTimeInterval(60), replicasSeenSince: now.addingTimeInterval(-15))
        }
        let claimed = try await vault.claimDueDeliveries(now: now, claim: claim(killed), slots: slots)
        #expect(claimed.count == 1)
        // Back 0.2 s later under the same name: the claim is its own again at once.
        let restarted = ReplicaIdentity(name: "replica-a")
        #expect(try await vault.replicaStarted(restarted, now: now).claims == 1)
        #expect(try await vault.claimDueDeliveries(now: now, claim: claim(restarted), slots: slots).map(\.id) == claimed.map(\.id))
        try await vault.close()
    }
}
