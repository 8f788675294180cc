import Foundation
import GatewayPolicy
import HTTPTypes

/// Who is calling: `Authorization: Bearer ghlgw_...` looked up by digest in the policy set; an
/// expired key is refused, and the key's use is recorded (for `/health/clients`).
struct CallerAuthenticator: Sendable {
    /// The client, or `unauthenticated`. The message never repeats what was presented.
    func authenticate(_ headers: HTTPFields, policies: PolicySet, now: Date = Date()) throws(GatewayError) -> ClientPolicy {
        let values = headers[values: .authorization]
        guard values.count == 1, let header = values.first else {
            throw GatewayError(.unauthenticated, values.isEmpty ? "missing gateway key (Authorization: Bearer ghlgw_...)" : "more than one Authorization header")
        }
        let scheme = header.utf8.prefix(7)
        guard scheme.count == 7, scheme.elementsEqual("Bearer ".utf8) || scheme.elementsEqual("bearer ".utf8),
            case let presented = header.dropFirst(7), presented.hasPrefix(KeyDigest.keyPrefix),
            let (client, key) = policies.caller(presenting: presented)
        else {
            throw GatewayError(.unauthenticated, "unknown gateway key")
        }
        if let expires = key.expires, key.isExpired(at: now) {
            throw GatewayError(.unauthenticated, "this gateway key expired at \(expires.formatted(.iso8601)); use the client's new key")
        }
        key.usage.record(now)
        return client
    }
}
