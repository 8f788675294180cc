import GatewayPolicy
import Hummingbird

/// Who is calling: `Authorization: Bearer ghlgw_...` looked up by digest in the policy set.
struct CallerAuthenticator: Sendable {
    /// The client, or `unauthenticated`. The message never repeats what was presented.
    func authenticate(_ headers: HTTPFields, policies: PolicySet) throws(GatewayError) -> ClientPolicy {
        let values = headers[values: .authorization]
        guard values.count == 1, let header = values.first else {
            throw GatewayError(.unauthenticated, values.isEmpty ? "missing gateway key (Authorization: Bearer ghlgw_...)" : "more than one Authorization header")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix(KeyDigest.keyPrefix),
            let client = policies.client(presenting: parts[1])
        else {
            throw GatewayError(.unauthenticated, "unknown gateway key")
        }
        return client
    }
}
