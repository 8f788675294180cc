/// Why the vault refused an operation. Messages name what to fix and never contain a secret.
package enum VaultError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An encryption key that is not 32 bytes of base64.
    case invalidKey(String)
    /// The database holds data sealed with keys this keyring does not have.
    case unknownKeys(found: [String], configured: [String])
    /// A ciphertext that does not open with its key: wrong key material or tampering.
    case decryptionFailed(context: String)
    /// The database file cannot be opened or migrated.
    case database(String)
    /// A write that expected an older version of the token: another refresh won the race.
    case versionConflict(owner: String, expected: Int)
    /// The token or installation does not exist.
    case notFound(String)

    package var description: String {
        switch self {
        case .invalidKey(let reason): "invalid encryption key: \(reason)"
        case .unknownKeys(let found, let configured):
            "the database was encrypted with key id(s) \(found.joined(separator: ", ")) but the configured key(s) are "
                + "\(configured.joined(separator: ", ")); configure the old key under storage.previous_encryption_keys"
        case .decryptionFailed(let context): "cannot decrypt \(context): wrong key or corrupted data"
        case .database(let reason): "database error: \(reason)"
        case .versionConflict(let owner, let expected):
            "token of \(owner) changed since version \(expected) (another refresh won)"
        case .notFound(let what): "\(what) not found"
        }
    }
}
