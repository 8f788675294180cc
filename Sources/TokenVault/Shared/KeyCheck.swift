import Foundation

/// Proof that a keyring fits a database, checked when a store opens: every key id found in the
/// database must be configured, and each stored check value must open with its key (so wrong key
/// material is caught at start, not at the first refresh).
enum KeyCheck {
    private static let plaintext = "ghl-gateway key check"

    /// Checks `checks` (key id → sealed check value) and the key ids of sealed values; returns the
    /// check value to store for the current key when the database has none yet.
    static func verify(
        checks: [(keyId: String, value: Data)], sealedKeyIds: [String], keyring: EncryptionKeyring
    ) throws(VaultError) -> Data? {
        let found = Set(checks.map(\.keyId) + sealedKeyIds)
        let unknown = found.subtracting(keyring.keyIds)
        if !unknown.isEmpty {
            throw .unknownKeys(found: unknown.sorted(), configured: keyring.keyIds)
        }
        for check in checks {
            guard try keyring.open(check.value, context: SealContext.keyCheck(check.keyId)) == plaintext else {
                throw .decryptionFailed(context: "the key check of key \(check.keyId)")
            }
        }
        guard !checks.contains(where: { $0.keyId == keyring.current.id }) else { return nil }
        return try keyring.seal(plaintext, context: SealContext.keyCheck(keyring.current.id))
    }

    /// The explanation stored on a token whose refresh was started but never stored.
    static func interruptedRefresh(startedAt: Date) -> String {
        "refresh interrupted at \(ISO8601DateFormatter().string(from: startedAt)): the process stopped before its result was stored"
    }
}
