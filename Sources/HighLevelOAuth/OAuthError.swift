/// How HighLevel's OAuth endpoints refused, in the terms the token lifecycle acts on.
package enum OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The grant (code or refresh token) is dead: used, expired or revoked. Never retried.
    case invalidGrant(String)
    /// The app's client id or secret was refused: a configuration problem.
    case invalidClient(String)
    /// HighLevel could not be reached, timed out, or answered 429/5xx: worth retrying later.
    case transient(String)
    /// Any other refusal (4xx), with HighLevel's `error` code when it gave one.
    case rejected(status: Int, code: String?, message: String)
    /// A 2xx answer without the fields a token response must have.
    case malformedResponse(String)

    package var isTransient: Bool {
        if case .transient = self { true } else { false }
    }

    package var description: String {
        switch self {
        case .invalidGrant(let message): "invalid_grant: \(message)"
        case .invalidClient(let message): "invalid_client: \(message)"
        case .transient(let message): "transient failure: \(message)"
        case .rejected(let status, let code, let message): "rejected (\(status)\(code.map { " \($0)" } ?? "")): \(message)"
        case .malformedResponse(let message): "malformed response: \(message)"
        }
    }
}
