import Foundation
import GatewayPolicy

/// Which keys the log has warned about: a key is logged once when it comes within a week of its
/// expiry and once when it expires, however often the policies are checked or reloaded.
struct KeyExpiryWarnings {
    struct Warning: Equatable {
        var client: String
        /// `sha256:` and 12 hex digits.
        var digest: String
        var expires: Date
        var expired: Bool
    }

    private var warned: Set<String> = []

    /// The warnings not given before, at `now`.
    mutating func check(_ policies: PolicySet, now: Date) -> [Warning] {
        var fresh: [Warning] = []
        for client in policies.clients.values.sorted(by: { $0.name < $1.name }) {
            for key in client.keys {
                guard let expires = key.expires, key.expires(within: ClientKey.warningWindow, of: now) else { continue }
                let expired = key.isExpired(at: now)
                guard warned.insert("\(key.digest) \(expired)").inserted else { continue }
                fresh.append(Warning(client: client.name, digest: key.shortDigest, expires: expires, expired: expired))
            }
        }
        return fresh
    }
}
