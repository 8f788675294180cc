import GatewayPolicy
import HTTPTypes

/// Who is calling: `Authorization: Bearer ghlgw_...` looked up by digest in the policy set.
struct CallerAuthenticator: Sendable {
    /// The client, or `unauthenticated`. The message never repeats what was presented.
    func authenticate(_ headers: HTTPFields, policies: PolicySet) throws(GatewayError) -> ClientPolicy {
        let values = headers[values: .authorization]
        guard values.count == 1, let header = values.first else {
            throw GatewayError(.unauthenticated, values.isEmpty ? "missing gateway key (Authorization: Bearer ghlgw_...)" : "more than one Authorization header")
        }
        let scheme = header.utf8.prefix(7)
        guard scheme.count == 7, scheme.elementsEqual("Bearer ".utf8) || scheme.elementsEqual("bearer ".utf8),
            case let key = header.dropFirst(7), key.hasPrefix(KeyDigest.keyPrefix),
            let client = policies.client(presenting: key)
        else {
            throw GatewayError(.unauthenticated, "unknown gateway key")
        }
        return client
    }
}
