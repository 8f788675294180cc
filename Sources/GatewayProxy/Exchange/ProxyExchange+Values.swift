import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import HighLevelOAuth
import NIOHTTP1
import ScopeCatalog
import TokenVault
import Tracing

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

    /// What the entry point does next.
    enum Action: Sendable {
        /// Read the body as planned, then `bodyRead` (or `failed`).
        case readBody(ProxyStages.BodyPlan)
        /// Find the company of the target's location, then `companyFound`.
        case lookUpCompany(RequestTarget, CatalogRoute)
        /// Get the owner's token from the vault or HighLevel, then `tokenArrived` (or `failed`).
        case fetchToken(TokenOwner)
        /// Wait in the owner's queue for a place in its HighLevel budget, then `placeGranted` (or `failed`).
        case waitForPlace(TokenOwner, client: String, weight: Double)
        /// Send the request to HighLevel, then `upstreamAnswered` (or `failed`).
        case send(Send)
        /// HighLevel refused `token`: ask for a renewed one; discard `answer` unless there is none
        /// (it is then the answer). Then `renewed` (or `failed`, with `answer` discarded).
        case renew(AccessToken, answer: UpstreamResponse)
        /// Write HighLevel's answer, then `finish`.
        case answer(UpstreamResponse)
        /// Write the gateway's refusal, then `finish`.
        case refuse(GatewayError)
        /// A dry run's end: everything before the token allowed the request.
        case wouldForward(Admitted)
    }

    /// A request as HighLevel gets it: what was authorized, with the token.
    struct Send: Sendable {
        let request: Request
        let target: CanonicalTarget
        let token: AccessToken
        let body: UpstreamForwarder.Payload
    }

    /// What `finish` hands back to be carried out: the log line and metrics, the place and span to release.
    struct Finish {
        var entry: AccessLogEntry
        let ticket: UpstreamBudget.Ticket?
        let span: (any Span)?
    }

    /// A dry run's named client and the policies it is explained against.
    final class DryRun: Sendable {
        let snapshot: PolicyStore.Snapshot
        let client: ClientPolicy

        init(snapshot: PolicyStore.Snapshot, client: ClientPolicy) {
            self.snapshot = snapshot
            self.client = client
        }
    }

    /// What a dry run's stages found (for `policy explain`; a live exchange does not keep it).
    struct Trail: Sendable {
        var route: CatalogRoute?
        var target: RequestTarget?
        var decision: PolicyDecision?
    }
}
