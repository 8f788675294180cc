import Foundation

/// How a token pair was obtained.
package enum TokenOrigin: String, Sendable {
    case code
    case refresh
    case exchange
}

/// The stored state of a token as the vault keeps it.
package enum TokenState: String, Sendable {
    case active
    case refreshFailing = "refresh_failing"
    case needsReinstall = "needs_reinstall"
}

/// New token material from HighLevel, ready to be stored.
package struct TokenGrant: Sendable {
    package var accessToken: Secret
    package var refreshToken: Secret?
    package var scopes: [String]
    package var expiresAt: Date
    package var origin: TokenOrigin

    package init(accessToken: Secret, refreshToken: Secret?, scopes: [String], expiresAt: Date, origin: TokenOrigin) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.origin = origin
    }
}

/// Everything about a stored token except its secrets: what listings and health show.
package struct TokenRecord: Sendable, Equatable {
    package var owner: TokenOwner
    package var companyId: String?
    package var scopes: [String]
    package var expiresAt: Date
    /// Incremented on every write; writes compare-and-swap on it.
    package var version: Int
    package var origin: TokenOrigin
    package var obtainedAt: Date
    package var hasRefreshToken: Bool
    package var lastRefreshAt: Date?
    /// Set, and committed, before a refresh goes upstream; cleared with its result. Still set after a
    /// restart means the outcome of that refresh is unknown.
    package var refreshStartedAt: Date?
    package var lastError: String?
    package var consecutiveFailures: Int
    package var nextAttemptAt: Date?
    package var state: TokenState
}

/// A token with its secrets, decrypted.
package struct StoredToken: Sendable {
    package var record: TokenRecord
    package var accessToken: Secret
    package var refreshToken: Secret?
}
