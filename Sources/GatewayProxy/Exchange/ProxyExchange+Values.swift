import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import NIOHTTP1
import ScopeCatalog

extension ProxyExchange {
    /// One request as the stages see it, whichever entry point read it.
    struct Request: Sendable {
        var method: HTTPRequest.Method
        var path: String
        var headers: HTTPFields
        var requestId: String
        /// `headers` as NIO parsed them, when the entry point has them: what is forwarded is copied
        /// from these rather than converted back.
        var wire: HTTPHeaders? = nil
    }

    /// What the first stages make of a request: who calls, what it names, which route.
    struct Routed: Sendable {
        let caller: CallerAuthenticator.Caller
        let target: CanonicalTarget
        let match: RouteMatch

        var client: ClientPolicy { caller.policy }
        var route: CatalogRoute { match.route }
    }

    /// A request the stages let through so far, with the location or company it acts on.
    struct Admitted: Sendable {
        let routed: Routed
        var requestTarget: RequestTarget

        var route: CatalogRoute { routed.route }
    }
}
