import Foundation
import GRDB
import GatewayTestSupport
import Testing

@testable import TokenVault

/// What only the SQLite store does: its file, its pragmas. The rest is `VaultContractTests`.
@Suite("SQLite vault")
struct SQLiteVaultTests {
    let directory = TemporaryDirectory()
    let key = EncryptionKeyring.generateKeyBase64()

    private func open() async throws -> SQLiteVault {
        try await SQLiteVault.open(path: directory.file("vault.sqlite"), keyring: try EncryptionKeyring(currentBase64: key))
    }

    @Test func tokensAreNotInTheFile() async throws {
        let vault = try await open()
        let access = "AT-\(UUID().uuidString)"
        let refresh = "RT-\(UUID().uuidString)"
        try await vault.install(
            Installation(owner: .company("cmp1"), companyId: "cmp1", source: .install),
            grant: TokenGrant(
                accessToken: Secret(access), refreshToken: Secret(refresh), scopes: ["contacts.readonly"],
                expiresAt: Date().addingTimeInterval(3600), origin: .code))
        let bytes = directory.bytes(ofDatabase: "vault.sqlite")
        #expect(bytes.count > 0)
        #expect(bytes.range(of: Data(access.utf8)) == nil)
        #expect(bytes.range(of: Data(refresh.utf8)) == nil)
        #expect(bytes.range(of: Data(key.utf8)) == nil)
    }

    @Test func aSecretPrintsAsAFingerprint() {
        let secret = Secret("super-secret-value")
        #expect(!"\(secret)".contains("super-secret-value"))
        #expect("\(secret)".contains(secret.fingerprint))
        #expect(!String(reflecting: secret).contains("super-secret-value"))
    }

    @Test func keysOfTheWrongShapeAreRefused() {
        #expect(throws: VaultError.invalidKey("16 bytes, expected 32 (AES-256)")) {
            try EncryptionKeyring(currentBase64: Data(repeating: 1, count: 16).base64EncodedString())
        }
        #expect(throws: VaultError.invalidKey("not base64")) { try EncryptionKeyring(currentBase64: "not base64!") }
    }

    @Test func aLeaseOfAProcessThatIsGoneIsReleasedAtOpen() async throws {
        let vault = try await open()
        let now = Date()
        let live = ReplicaIdentity.unique().holder
        #expect(try await vault.acquireRenewalLease(.company("a"), holder: live, until: now.addingTimeInterval(60), now: now))
        // 4,194,305 is above the largest pid Linux can give (2^22): no such process.
        let dead = "\(ProcessInfo.processInfo.hostName)/4194305/1"
        #expect(try await vault.acquireRenewalLease(.company("b"), holder: dead, until: now.addingTimeInterval(60), now: now))
        try await vault.close()
        let reopened = try await open()
        #expect(try await reopened.acquireRenewalLease(.company("b"), holder: "other", until: now.addingTimeInterval(60), now: now))
        #expect(try await reopened.acquireRenewalLease(.company("a"), holder: "other", until: now.addingTimeInterval(60), now: now) == false)
    }

    @Test func databaseRunsInWALWithForeignKeysAndDurableCommits() async throws {
        let vault = try await open()
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
