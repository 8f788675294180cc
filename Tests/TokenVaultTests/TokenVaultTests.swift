import Foundation
import GatewayTestSupport
import Testing

@testable import TokenVault

@Suite("Token vault")
struct TokenVaultTests {
    let directory = TemporaryDirectory()
    let keyA = EncryptionKeyring.generateKeyBase64()
    let keyB = EncryptionKeyring.generateKeyBase64()

    private func open(current: String, previous: [String] = []) async throws -> SQLiteVault {
        try await SQLiteVault.open(
            path: directory.file("vault.sqlite"), keyring: try EncryptionKeyring(currentBase64: current, previousBase64: previous))
    }

    private func grant(_ access: String, _ refresh: String?, origin: TokenOrigin = .code) -> TokenGrant {
        TokenGrant(
            accessToken: Secret(access), refreshToken: refresh.map(Secret.init), scopes: ["contacts.readonly", "oauth.write"],
            expiresAt: Date().addingTimeInterval(3600), origin: origin)
    }

    private func installation(_ owner: TokenOwner) -> Installation {
        Installation(owner: owner, companyId: "cmp1", grantedScopes: ["contacts.readonly"], source: .install)
    }

    @Test func tokensRoundTripAndAreNotInTheFile() async throws {
        let vault = try await open(current: keyA)
        let access = "AT-\(UUID().uuidString)"
        let refresh = "RT-\(UUID().uuidString)"
        let record = try await vault.install(installation(.company("cmp1")), grant: grant(access, refresh))
        #expect(record.version == 1)
        let stored = try #require(try await vault.token(for: .company("cmp1")))
        #expect(stored.accessToken.revealed == access)
        #expect(stored.refreshToken?.revealed == refresh)
        #expect(stored.record.scopes == ["contacts.readonly", "oauth.write"])

        let bytes = directory.bytes(ofDatabase: "vault.sqlite")
        #expect(bytes.count > 0)
        #expect(bytes.range(of: Data(access.utf8)) == nil)
        #expect(bytes.range(of: Data(refresh.utf8)) == nil)
        #expect(bytes.range(of: Data(keyA.utf8)) == nil)
    }

    @Test func aSecretPrintsAsAFingerprint() {
        let secret = Secret("super-secret-value")
        #expect(!"\(secret)".contains("super-secret-value"))
        #expect("\(secret)".contains(secret.fingerprint))
        #expect(!String(reflecting: secret).contains("super-secret-value"))
    }

    @Test func compareAndSwapRejectsAStaleVersion() async throws {
        let vault = try await open(current: keyA)
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
    }

    @Test func storingForAnUnknownInstallationFails() async throws {
        let vault = try await open(current: keyA)
        await #expect(throws: VaultError.notFound("installation location:nope")) {
            try await vault.store(grant("a", nil, origin: .exchange), for: .location("nope"), replacing: nil)
        }
    }

    @Test func keysRotateOldReadableNewWritten() async throws {
        do {
            let vault = try await open(current: keyA)
            try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        }
        let rotated = try await open(current: keyB, previous: [keyA])
        #expect(try await rotated.token(for: .company("cmp1"))?.accessToken.revealed == "a1")
        try await rotated.install(installation(.location("loc1")), grant: grant("l1", "lr1"))
        let ids = try await rotated.read { db in try String.fetchAll(db, sql: "SELECT key_id FROM tokens ORDER BY kind") }
        #expect(ids == [rotated.keyring.previous[0].id, rotated.keyring.current.id])

        // Without the old key the database is refused, naming the missing key id.
        await #expect {
            try await open(current: keyB)
        } throws: { error in
            guard case .unknownKeys(let found, let configured) = error as? VaultError else { return false }
            return found == [rotated.keyring.previous[0].id] && configured == [rotated.keyring.current.id]
        }
    }

    @Test func aWrongKeyIsAClearStartupError() async throws {
        do {
            let vault = try await open(current: keyA)
            try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        }
        await #expect {
            try await open(current: keyB)
        } throws: { error in
            "\(error)".contains("configure the old key under storage.previous_encryption_keys")
        }
        #expect(throws: VaultError.invalidKey("16 bytes, expected 32 (AES-256)")) {
            try EncryptionKeyring(currentBase64: Data(repeating: 1, count: 16).base64EncodedString())
        }
        #expect(throws: VaultError.invalidKey("not base64")) { try EncryptionKeyring(currentBase64: "not base64!") }
    }

    @Test func aCiphertextMovedToAnotherRowDoesNotOpen() async throws {
        let vault = try await open(current: keyA)
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.install(installation(.company("cmp2")), grant: grant("a2", "r2"))
        try await vault.write { db in
            try db.execute(sql: """
                UPDATE tokens SET access_token = (SELECT access_token FROM tokens WHERE owner_id = 'cmp1') WHERE owner_id = 'cmp2'
                """)
        }
        await #expect(throws: VaultError.decryptionFailed(context: "company:cmp2/access")) {
            try await vault.token(for: .company("cmp2"))
        }
    }

    @Test func restartKeepsInstallationsTokensAndFailures() async throws {
        do {
            let vault = try await open(current: keyA)
            try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
            try await vault.linkLocations(["loc1", "loc2"], toCompany: "cmp1", source: .approved)
            try await vault.markRefreshStarted(.company("cmp1"), version: 1)
            try await vault.recordFailure(.company("cmp1"), version: 1, error: "HTTP 503", needsReinstall: false, nextAttemptAt: nil)
        }
        let reopened = try await open(current: keyA)
        let stored = try #require(try await reopened.token(for: .company("cmp1")))
        #expect(stored.accessToken.revealed == "a1")
        #expect(stored.record.consecutiveFailures == 1)
        #expect(stored.record.lastError == "HTTP 503")
        #expect(stored.record.state == .refreshFailing)
        #expect(stored.record.refreshStartedAt == nil)
        let locations = try await reopened.installations().filter { $0.owner.kind == "location" }
        #expect(locations.map(\.owner) == [.location("loc1"), .location("loc2")])
        #expect(locations.allSatisfy { $0.companyId == "cmp1" && $0.source == .approved })
    }

    @Test func needsReinstallMarksTokenAndInstallation() async throws {
        let vault = try await open(current: keyA)
        try await vault.install(installation(.company("cmp1")), grant: grant("a1", "r1"))
        try await vault.recordFailure(.company("cmp1"), version: 1, error: "invalid_grant", needsReinstall: true, nextAttemptAt: nil)
        #expect(try await vault.token(for: .company("cmp1"))?.record.state == .needsReinstall)
        #expect(try await vault.installation(.company("cmp1"))?.status == .needsReinstall)
    }

    @Test func uninstallDeletesTheTokenRow() async throws {
        let vault = try await open(current: keyA)
        try await vault.install(installation(.location("loc1")), grant: grant("secret-access-123", "secret-refresh-456"))
        try await vault.uninstall(.location("loc1"))
        #expect(try await vault.token(for: .location("loc1")) == nil)
        #expect(try await vault.installation(.location("loc1"))?.status == .uninstalled)
        let rows = try await vault.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens") }
        #expect(rows == 0)
        // Re-linking an uninstalled location through its company installs it again.
        try await vault.linkLocations(["loc1"], toCompany: "cmp1", source: .webhook)
        #expect(try await vault.installation(.location("loc1"))?.status == .installed)
    }

    @Test func oauthStatesAreSingleUseAndExpire() async throws {
        let vault = try await open(current: keyA)
        let state = try await vault.createOAuthState()
        #expect(try await vault.consumeOAuthState(state))
        #expect(try await vault.consumeOAuthState(state) == false)
        #expect(try await vault.consumeOAuthState("forged-\(state)") == false)

        let old = try await vault.createOAuthState(lifetime: 600, now: Date().addingTimeInterval(-601))
        #expect(try await vault.consumeOAuthState(old) == false)
        let stored = try await vault.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM oauth_states") }
        #expect(stored == 0)
    }

    @Test func databaseRunsInWALWithForeignKeysAndDurableCommits() async throws {
        let vault = try await open(current: keyA)
        let settings = try await vault.read { db in
            [
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                "\(try Int.fetchOne(db, sql: "PRAGMA foreign_keys") ?? 0)",
                "\(try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? 0)",
            ]
        }
        #expect(settings == ["wal", "1", "2"])
    }
}
