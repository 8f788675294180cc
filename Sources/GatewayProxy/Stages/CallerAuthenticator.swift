import Foundation
import GatewayPolicy
import GatewayRuntime
import HTTPTypes

/// Who is calling: `Authorization: Bearer ghlgw_...` looked up by digest in the policy set; an
/// expired key is refused, and the key's use is recorded (for `/health/clients`).
struct CallerAuthenticator: Sendable {
    /// A key used within a week of its expiry or after it (`client`, the key's short digest, its
    /// expiry, whether it is expired), told once per key and day.
    typealias WarnedUse = @Sendable (_ client: String, _ key: String, _ expires: Date, _ expired: Bool) -> Void

    let onWarnedUse: WarnedUse?

    init(onWarnedUse: WarnedUse? = nil) {
        self.onWarnedUse = onWarnedUse
    }

    /// Who called, by reference: the stages after this one pass it along without copying the policy.
    final class Caller: Sendable {
        let policy: ClientPolicy
        /// Nil for a client named rather than authenticated (`policy explain`).
        fileprivate let key: ClientKey?

        /// The presented key's digest (for the audit trail).
        var digest: KeyDigest? { key?.digest }

        init(policy: ClientPolicy, key: ClientKey?) {
            self.policy = policy
            self.key = key
        }
    }

    /// The caller a connection authenticated last, against the policy set it still holds: the
    /// next request presenting the same header on that connection skips the digest and the
    /// lookups. The header is compared in constant time, as a digest would be.
    struct Recent: Sendable {
        fileprivate let header: String
        fileprivate let caller: Caller
    }

    /// The client, or `unauthenticated`. The message never repeats what was presented. `recent`
    /// must have been made against `policies`.
    func authenticate(
        _ headers: HTTPFields, policies: PolicySet, now: Date = Date(), recent: inout Recent?
    ) throws(GatewayError) -> Caller {
        let values = headers[values: .authorization]
        guard values.count == 1, let header = values.first else {
            throw GatewayError(
                .unauthenticated, values.isEmpty ? "missing gateway key (Authorization: Bearer ghlgw_...)" : "more than one Authorization header")
        }
        let caller: Caller
        if let recent, ConstantTime.equal(header, recent.header) {
            caller = recent.caller
        } else {
            let scheme = header.utf8.prefix(7)
            guard scheme.count == 7, scheme.elementsEqual("Bearer ".utf8) || scheme.elementsEqual("bearer ".utf8),
                case let presented = header.dropFirst(7), presented.hasPrefix(KeyDigest.keyPrefix),
                let found = policies.caller(presenting: presented)
            else {
                throw GatewayError(.unauthenticated, "unknown gateway key")
            }
            caller = Caller(policy: found.client, key: found.key)
            recent = Recent(header: header, caller: caller)
        }
        guard let key = caller.key else { return caller }
        if let onWarnedUse, let expires = key.expires, key.expires(within: ClientKey.warningWindow, of: now),
            key.usage.firstWarnedUseToday(now)
        {
            onWarnedUse(caller.policy.name, key.shortDigest, expires, key.isExpired(at: now))
        }
        if let expires = key.expires, key.isExpired(at: now) {
            throw GatewayError(.unauthenticated, "this gateway key expired at \(expires.formatted(.iso8601)); use the client's new key")
        }
        key.usage.record(now)
        return caller
    }
}
