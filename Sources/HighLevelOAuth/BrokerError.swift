import Foundation
import TokenVault

/// Why the broker could not hand out a token; each maps to one gateway error code.
package enum BrokerError: Error, Sendable, CustomStringConvertible {
    /// No installation (or it was uninstalled): `not_installed`.
    case notInstalled(TokenOwner)
    /// HighLevel refused the refresh token (`invalid_grant`): the app must be reinstalled.
    case needsReinstall(TokenOwner)
    /// The location has no token and its company's token cannot be exchanged (no `oauth.write`).
    case exchangeNotPermitted(location: String, company: String)
    /// A transient failure (HighLevel down, timeout, backoff): `token_unavailable`.
    case unavailable(TokenOwner, reason: String)
    /// The vault failed (disk, database).
    case vault(VaultError)

    package var description: String {
        switch self {
        case .notInstalled(let owner): "\(owner) has not installed the app"
        case .needsReinstall(let owner): "\(owner) must reinstall the app (HighLevel refused its refresh token)"
        case .exchangeNotPermitted(let location, let company):
            "location:\(location) has no token and company:\(company) cannot exchange one (its token lacks oauth.write)"
        case .unavailable(let owner, let reason): "no valid token for \(owner) right now: \(reason)"
        case .vault(let error): error.description
        }
    }
}

/// A valid access token as the broker hands it out.
package struct AccessToken: Sendable {
    package var owner: TokenOwner
    package var token: Secret
    package var scopes: [String]
    package var expiresAt: Date
    /// The stored version this token belongs to; pass it back after an upstream 401.
    package var version: Int
}
