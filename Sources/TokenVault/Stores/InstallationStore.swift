import Foundation

/// Installations and their tokens: what a code exchange, a refresh or an exchange stores, and what
/// a request reads. Token writes are compare-and-swap on a version, so a refresh that lost a race
/// is detected instead of overwriting a newer pair.
package protocol InstallationStore: Sendable {
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
}

/// The forms callers use: now as the time, one install at a time.
extension InstallationStore {
    @discardableResult
    package func install(_ installation: Installation, grant: TokenGrant) async throws(VaultError) -> TokenRecord {
        try await install([(installation, grant)])[0]
    }

    package func uninstall(_ owner: TokenOwner) async throws(VaultError) {
        try await uninstall(owner, at: Date())
    }

    package func linkLocations(_ locationIds: [String], toCompany companyId: String, source: Installation.Source) async throws(VaultError) {
        try await linkLocations(locationIds, toCompany: companyId, source: source, at: Date())
    }

    @discardableResult
    package func noteInterruptedRefreshes() async throws(VaultError) -> [TokenOwner] {
        try await noteInterruptedRefreshes(now: Date())
    }

    package func markRefreshStarted(_ owner: TokenOwner, version: Int) async throws(VaultError) {
        try await markRefreshStarted(owner, version: version, at: Date())
    }
}
