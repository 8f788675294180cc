import Foundation
import TokenVault

extension InstallationStore {
    /// Stores the owner's current pair again, expired: the next request renews it. The refresh
    /// storm on demand (`ghl-bench storm`) and the tests that need an expired token; through the
    /// stores' own compare-and-swap write, so other replicas hear of it as of any renewal.
    package func expire(_ owner: TokenOwner) async throws(VaultError) {
        guard let stored = try await token(for: owner) else { return }
        let expired = TokenGrant(
            accessToken: stored.accessToken, refreshToken: stored.refreshToken, scopes: stored.record.scopes,
            expiresAt: Date(timeIntervalSince1970: 0), origin: stored.record.origin)
        _ = try await store(expired, for: owner, replacing: stored.record.version)
    }
}
