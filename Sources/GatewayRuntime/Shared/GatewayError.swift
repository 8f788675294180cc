import HTTPTypes
import NIOCore

/// An error the gateway itself answers (never an upstream answer), as the fixed interface of error codes has them:
/// JSON `{"error": {"code", "message", "requestId"}}` with the request id also in `X-Request-Id`.
package struct GatewayError: Error, Sendable, CustomStringConvertible {
    package enum Code: String, Sendable {
        case unauthenticated
        case badRequest = "bad_request"
        case targetConflict = "target_conflict"
        case locationRequired = "location_required"
        case routeUnknown = "route_unknown"
        case policyDenied = "policy_denied"
        case scopeNotInstalled = "scope_not_installed"
        case notInstalled = "not_installed"
        case rateLimited = "rate_limited"
        /// HighLevel's budget for the location (or company) has no room within the queue's wait.
        case upstreamRateLimited = "upstream_rate_limited"
        case tokenUnavailable = "token_unavailable"
        case upstreamUnreachable = "upstream_unreachable"
        case upstreamTimeout = "upstream_timeout"
        case payloadTooLarge = "payload_too_large"

        package var status: Int {
            switch self {
            case .unauthenticated: 401
            case .badRequest, .targetConflict, .locationRequired: 400
            case .routeUnknown: 404
            case .policyDenied, .scopeNotInstalled, .notInstalled: 403
            case .rateLimited, .upstreamRateLimited: 429
            case .tokenUnavailable: 503
            case .upstreamUnreachable: 502
            case .upstreamTimeout: 504
            case .payloadTooLarge: 413
            }
        }

        /// Whether the message may quote what the caller sent (a path, an id from a body): it
        /// goes back to the caller, but not into the log line, which carries no path ids.
        package var messageQuotesCaller: Bool {
            switch self {
            case .badRequest, .targetConflict, .routeUnknown: true
            default: false
            }
        }
    }

    package var code: Code
    /// Safe to show the caller: never a token, key or secret.
    package var message: String
    /// Seconds, for `rate_limited` and `upstream_rate_limited`.
    package var retryAfter: Int?

    package init(_ code: Code, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    package var description: String { "\(code.rawValue): \(message)" }

    /// `{"error": {"code", "message", "requestId"}}`.
    package func jsonBody(requestId: String) -> ByteBuffer {
        var error = JSONLine()
        error.add("code", code.rawValue)
        error.add("message", message)
        error.add("requestId", requestId)
        var body = JSONLine()
        body.add("error", object: error)
        return ByteBuffer(string: body.text)
    }

    /// `Content-Type`, `X-Request-Id` and, for `rate_limited`, `Retry-After`.
    package func headers(requestId: String) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json", RequestID.header: requestId]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return headers
    }
}
