import Foundation

/// Everything the gateway keeps: installations, their tokens (sealed with AES-256-GCM, bound to
/// their row), OAuth states and codes, HighLevel's webhook events and their deliveries, and the
/// audit trail.
///
/// One interface, two stores: `SQLiteVault` (embedded, one process) and `PostgresVault` (shared by
/// any number of replicas), each implementing its four concerns (`InstallationStore`,
/// `LeaseStore`, `InstallStateStore`, `EventStore`); a part of the gateway that needs one concern
/// takes that protocol. One contract test suite runs against both stores, so a behaviour holds
/// whichever is configured.
///
/// Durability is the contract: a method that writes returns only after its write is committed,
/// because HighLevel rotates refresh tokens and losing the newest one loses the installation.
/// Token writes are compare-and-swap on a version, so a refresh that lost a race is detected
/// instead of overwriting a newer pair.
package protocol TokenVault: InstallationStore, LeaseStore, InstallStateStore, EventStore, AuditStore {
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
}
