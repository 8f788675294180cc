import Crypto
import Foundation

/// The install flow's single-use values: OAuth states and authorization codes, kept as their
/// SHA-256 only.
package protocol InstallStateStore: Sendable {
    // MARK: Install flow

    /// Stores the hash of a new state valid until `expiresAt`; expired states are purged on the way.
    func insertOAuthState(hash: String, expiresAt: Date, now: Date) async throws(VaultError)
    /// Consumes a state by its hash: true exactly once for a state that exists and has not expired.
    /// An expired state is deleted too, so it can never be tried again.
    func consumeOAuthState(hash: String, now: Date) async throws(VaultError) -> Bool
    /// Claims an authorization code (by hash) for its one exchange: true the first time it is seen
    /// since `purgeBefore`; older claims are purged on the way.
    func claimAuthorizationCode(hash: String, now: Date, purgeBefore: Date) async throws(VaultError) -> Bool
    /// Gives back a claim whose exchange never reached a verdict from HighLevel.
    func releaseAuthorizationCode(hash: String) async throws(VaultError)
}

/// States and codes by value (only their SHA-256 is ever stored).
extension InstallStateStore {
    /// Creates a random state valid for `lifetime`.
    package func createOAuthState(lifetime: TimeInterval = 600, now: Date = Date()) async throws(VaultError) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let state = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        try await insertOAuthState(hash: Self.hash(state), expiresAt: now.addingTimeInterval(lifetime), now: now)
        return state
    }

    package func consumeOAuthState(_ state: String, now: Date = Date()) async throws(VaultError) -> Bool {
        try await consumeOAuthState(hash: Self.hash(state), now: now)
    }

    /// Claims an authorization code for its one exchange: true the first time the code is seen within
    /// `retention`, so a replayed code never reaches HighLevel's token endpoint again.
    package func claimAuthorizationCode(_ code: String, retention: TimeInterval = 86_400, now: Date = Date()) async throws(VaultError) -> Bool {
        try await claimAuthorizationCode(hash: Self.hash(code), now: now, purgeBefore: now.addingTimeInterval(-retention))
    }

    package func releaseAuthorizationCode(_ code: String) async throws(VaultError) {
        try await releaseAuthorizationCode(hash: Self.hash(code))
    }

    private static func hash(_ value: String) -> String {
        SHA256.hash(data: Data(value.utf8)).hexString
    }
}
