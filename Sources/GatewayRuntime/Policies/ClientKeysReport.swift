import Foundation
import GatewayPolicy

/// `GET /health/clients`: every client's keys (by digest prefix, never the key), when each
/// expires and when it was last presented, so an admin rotating a key sees when the old one
/// stopped being used and can remove it.
package struct ClientKeysReport: Encodable {
    struct Client: Encodable {
        var client: String
        var keys: [Key]
    }

    struct Key: Encodable {
        /// `sha256:` and the first 12 hex digits.
        var digest: String
        var expires: Date?
        var expired: Bool
        /// Within a week of its expiry (`/readyz` and the log warn about it).
        var expiresSoon: Bool
        /// Nil: not presented since this replica started.
        var lastUsed: Date?
    }

    var clients: [Client]

    package init(_ policies: PolicySet, now: Date = Date()) {
        clients = policies.clients.values.sorted { $0.name < $1.name }.map { client in
            Client(
                client: client.name,
                keys: client.keys.map { key in
                    Key(
                        digest: key.shortDigest, expires: key.expires, expired: key.isExpired(at: now),
                        expiresSoon: !key.isExpired(at: now) && key.expires(within: ClientKey.warningWindow, of: now),
                        lastUsed: key.usage.lastUsed)
                })
        }
    }

    /// One line per key that has expired or expires within a week, for `/readyz`.
    package var warnings: [String] {
        clients.flatMap { client in
            client.keys.compactMap { key in
                guard let expires = key.expires, key.expired || key.expiresSoon else { return nil }
                return "\(client.client) key \(key.digest)… \(key.expired ? "expired" : "expires") at \(expires.formatted(.iso8601))"
            }
        }
    }
}
