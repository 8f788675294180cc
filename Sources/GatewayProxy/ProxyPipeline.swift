import Foundation
import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import HighLevelOAuth
import Logging
import NIOCore
import NIOHTTP1
import ScopeCatalog
import TokenVault
import Tracing

/// The proxy's pipeline (docs/proxy.md), the one place that orders its stages: authenticate →
/// canonicalize → match → (read the body) → resolve target → decide → rate limit → pick token →
/// forward → replay once after an upstream 401 → finish (log line and metrics). The entry points
/// (`ProxyFastPath` in the NIO pipeline, `ProxyResponder` under Hummingbird) only read and write
/// bytes and call it; a refusal is made once, by the stage that finds it, as a `GatewayError`.
///
/// The stages before forwarding run synchronously until one has to wait (a location's company
/// looked up in the vault, a token not in memory): `admit` runs them up to there and returns
/// where it stopped, `forward` runs the rest. So the common request never leaves its event loop.
package final class ProxyPipeline: Sendable {
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

    /// Where `admit` stopped.
    enum Admission: Sendable {
        /// Every stage passed and the token is in memory: forward now.
        case ready(Admitted, AccessToken)
        /// The route takes a company's token and names a location: its company is looked up before the decision.
        case awaitingCompany(Admitted)
        /// Allowed; the token needs the vault or HighLevel.
        case awaitingToken(Admitted, TokenOwner)
        /// Allowed, token in memory; its location's HighLevel budget has no room yet.
        case awaitingBudget(Admitted, AccessToken)
    }

    let store: PolicyStore
    let stages: ProxyStages
    let tokens: TokenSelector
    let forwarder: UpstreamForwarder
    let rateLimiter = ClientRateLimiter()
    /// How many replicas share each client's rate limit.
    let replicas: ReplicaHeartbeat
    /// HighLevel's limits per location, kept for every client.
    let budget: UpstreamBudget
    let metrics: GatewayMetrics
    let tracing: GatewayTracing?
    let logger: Logger
    private let authenticator = CallerAuthenticator()

    package init(
        store: PolicyStore, broker: TokenBroker, forwarder: UpstreamForwarder, limits: GatewayConfiguration.Limits,
        replicas: ReplicaHeartbeat, budget: UpstreamBudget, metrics: GatewayMetrics, tracing: GatewayTracing?, logger: Logger
    ) {
        self.tracing = tracing
        self.store = store
        self.replicas = replicas
        self.budget = budget
        self.stages = ProxyStages(limits: limits)
        self.tokens = TokenSelector(broker: broker)
        self.forwarder = forwarder
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: Stages, in order

    /// Every stage in order, for an entry point that reads the body when asked: after the route
    /// is known, so no body is read for a caller or a route that is refused. (The fast path runs
    /// `route`, `admit` and `forward` the same way, for requests without a body.)
    func run(
        _ request: Request, on loop: any EventLoop, entry: inout AccessLogEntry,
        readBody: () async throws(GatewayError) -> (UpstreamForwarder.Payload, BodyTarget?)
    ) async throws(GatewayError) -> UpstreamResponse {
        var memo = ConnectionMemo()
        let routed = try route(request, entry: &entry, memo: &memo)
        let (body, fields) = try await readBody()
        let admission = try admit(routed, headers: request.headers, body: fields, entry: &entry)
        return try await forward(admission, request, body: body, on: loop, entry: &entry)
    }

    /// Header size, caller key, canonical target and route, against the policies in force now
    /// (as far as the connection's `memo` has them).
    func route(_ request: Request, entry: inout AccessLogEntry, memo: inout ConnectionMemo) throws(GatewayError) -> Routed {
        try stages.checkHeaderSize(request.headers)
        let sent = request.headers[TraceParent.header]
        entry.trace = sent.flatMap(TraceParent.init)
        if let tracing { entry.span = tracing.startSpan(request.method.rawValue, kind: .server, parent: sent) }
        let snapshot = memo.snapshot(of: store)
        let caller = try authenticator.authenticate(request.headers, policies: snapshot.policies, recent: &memo.caller)
        entry.client = caller.policy.name
        let (target, match) = try stages.route(method: request.method.rawValue, path: request.path, catalog: snapshot.catalog)
        entry.template = match.route.templateText
        return Routed(caller: caller, target: target, match: match)
    }

    /// The target (from the path, query, headers and the body's fields), the decision, the
    /// rate limit and the token, as far as they go without waiting.
    func admit(
        _ routed: Routed, headers: HTTPFields, body: BodyTarget?, entry: inout AccessLogEntry
    ) throws(GatewayError) -> Admission {
        let requestTarget = try stages.target(of: routed.match, query: routed.target.query, headers: headers, body: body, client: routed.client)
        let admitted = Admitted(routed: routed, requestTarget: requestTarget)
        if TokenSelector.needsCompletion(requestTarget, for: routed.route) { return .awaitingCompany(admitted) }
        return try authorize(admitted, entry: &entry)
    }

    /// The client's policy decision, its rate limit, then the token when memory has it.
    private func authorize(_ admitted: Admitted, entry: inout AccessLogEntry) throws(GatewayError) -> Admission {
        entry.location = admitted.requestTarget.location
        entry.company = admitted.requestTarget.company
        let client = admitted.routed.client
        let decision = client.decide(admitted.route, target: admitted.requestTarget)
        entry.decision = decision.outcome.rawValue
        guard decision.allowed else { throw GatewayError(.policyDenied, decision.reason) }
        if let configured = client.rateLimit, case let limit = replicas.share(of: configured),
            let wait = rateLimiter.acquire(client: client.name, limit: limit)
        {
            entry.decision = "rate_limited"
            throw GatewayError(.rateLimited, "\(client.name) is over its rate limit of \(limit)", retryAfter: max(1, Int(wait.rounded(.up))))
        }
        let owner = try TokenSelector.owner(for: admitted.route, target: admitted.requestTarget)
        guard let token = tokens.broker.cachedToken(for: owner) else { return .awaitingToken(admitted, owner) }
        try TokenSelector.checkScope(admitted.route, token)
        return try place(admitted, token, entry: &entry) ? .ready(admitted, token) : .awaitingBudget(admitted, token)
    }

    /// A place in the token's location's HighLevel budget now, when there is one (or the budget
    /// is not enforced); false when the request must wait for one (`waitForPlace`).
    private func place(_ admitted: Admitted, _ token: AccessToken, entry: inout AccessLogEntry) throws(GatewayError) -> Bool {
        switch try budget.admit(token.owner, client: admitted.routed.client.name) {
        case .mustWait:
            return false
        case .admitted(let ticket):
            entry.budget = ticket
        case nil:
            break
        }
        return true
    }

    /// Waits in the location's queue for a place in its HighLevel budget.
    private func waitForPlace(_ admitted: Admitted, _ token: AccessToken, entry: inout AccessLogEntry) async throws(GatewayError) {
        let client = admitted.routed.client
        entry.budget = try await budget.acquire(token.owner, client: client.name, weight: client.upstreamShare)
    }

    /// The stages `admit` left: the company lookup and the decision after it, the token.
    func resume(_ admission: Admission, entry: inout AccessLogEntry) async throws(GatewayError) -> (Admitted, AccessToken) {
        switch admission {
        case .ready(let admitted, let token):
            return (admitted, token)
        case .awaitingCompany(var admitted):
            admitted.requestTarget = await tokens.completing(admitted.requestTarget, for: admitted.route)
            return try await resume(try authorize(admitted, entry: &entry), entry: &entry)
        case .awaitingToken(let admitted, let owner):
            let token = try await tokens.token(for: admitted.route, owner: owner)
            if try !place(admitted, token, entry: &entry) { try await waitForPlace(admitted, token, entry: &entry) }
            return (admitted, token)
        case .awaitingBudget(let admitted, let token):
            try await waitForPlace(admitted, token, entry: &entry)
            return (admitted, token)
        }
    }

    /// From an admission to HighLevel's answer: the stages left, the send, one replay after a 401.
    func forward(
        _ admission: Admission, _ request: Request, body: UpstreamForwarder.Payload, on loop: any EventLoop,
        entry: inout AccessLogEntry
    ) async throws(GatewayError) -> UpstreamResponse {
        let (admitted, token) = try await resume(admission, entry: &entry)
        let started = ContinuousClock.now
        let upstream = try await send(admitted, token, request, body: body, on: loop)
        return try await settle(upstream, admitted, token, request, body: body, on: loop, started: started, entry: &entry)
    }

    /// Sends an admission that is `ready` from the event loop, without a task (the fast path).
    func sendNow(
        _ admitted: Admitted, _ token: AccessToken, _ request: Request, on loop: any EventLoop
    ) throws(GatewayError) -> EventLoopFuture<UpstreamResponse> {
        let head = try forwarder.head(
            method: request.method, target: admitted.routed.target, headers: request.headers, wire: request.wire, body: .empty,
            token: token.token, requestId: request.requestId)
        return forwarder.pool.send(head: head, body: nil, on: loop)
    }

    /// Whether HighLevel's first answer calls for `settle` to replay (a 401, a body it can send again).
    func needsReplay(_ upstream: UpstreamResponse, body: UpstreamForwarder.Payload) -> Bool {
        upstream.head.status == .unauthorized && body.isReplayable
    }

    /// After HighLevel's first answer: once more with a renewed token after a 401 when the body
    /// can be sent again and the broker gives one (it forces at most one renewal per owner in a
    /// short interval); the upstream status and time noted either way.
    func settle(
        _ upstream: UpstreamResponse, _ admitted: Admitted, _ token: AccessToken, _ request: Request, body: UpstreamForwarder.Payload,
        on loop: any EventLoop, started: ContinuousClock.Instant, entry: inout AccessLogEntry
    ) async throws(GatewayError) -> UpstreamResponse {
        var upstream = upstream
        if needsReplay(upstream, body: body) {
            let renewed: AccessToken?
            do {
                renewed = try await tokens.broker.accessToken(replacing: token)
            } catch {
                await upstream.discard()
                throw GatewayError(error)
            }
            guard let renewed else {
                noteUpstream(upstream, started: started, entry: &entry)
                return upstream
            }
            entry.replayed = true
            await upstream.discard()
            try TokenSelector.checkScope(admitted.route, renewed)
            upstream = try await send(admitted, renewed, request, body: body, on: loop)
        }
        noteUpstream(upstream, started: started, entry: &entry)
        return upstream
    }

    /// The admitted request to HighLevel with `token`, streamed or buffered as its body is.
    private func send(
        _ admitted: Admitted, _ token: AccessToken, _ request: Request, body: UpstreamForwarder.Payload, on loop: any EventLoop
    ) async throws(GatewayError) -> UpstreamResponse {
        try await forwarder.send(
            method: request.method, target: admitted.routed.target, headers: request.headers, wire: request.wire, body: body,
            token: token.token, requestId: request.requestId, on: loop)
    }

    /// HighLevel's status in the log line, the time to its answer in the metrics.
    func noteUpstream(_ upstream: UpstreamResponse, started: ContinuousClock.Instant, entry: inout AccessLogEntry) {
        entry.upstreamStatus = Int(upstream.head.status.code)
        metrics.upstream(ContinuousClock.now - started)
        if let ticket = entry.budget {
            budget.finished(ticket, head: upstream.head)
            entry.budget = nil
        }
    }

    /// The gateway's refusal, noted for the log line; the entry point writes `error`'s answer.
    func refuse(_ error: GatewayError, entry: inout AccessLogEntry) {
        entry.code = error.code.rawValue
        if !error.code.messageQuotesCaller { entry.reason = error.message }
    }

    /// The request's span, named by its route and ended; its trace goes into the log line.
    private func end(_ span: any Span, _ entry: inout AccessLogEntry) {
        span.operationName = entry.template.map { "\(entry.method) \($0)" } ?? entry.method
        span.attributes["http.request.method"] = entry.method
        if let template = entry.template { span.attributes["http.route"] = template }
        span.attributes["http.response.status_code"] = entry.status
        if let client = entry.client { span.attributes["ghl.client"] = client }
        if let decision = entry.decision { span.attributes["ghl.decision"] = decision }
        if let code = entry.code { span.attributes["ghl.error.code"] = code }
        if let upstream = entry.upstreamStatus { span.attributes["ghl.upstream.status_code"] = upstream }
        if entry.status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        span.end()
        if let own = tracing?.traceParent(of: span).flatMap(TraceParent.init) { entry.exported = own }
    }

    /// Logs the request's line and counts it.
    func finish(_ entry: inout AccessLogEntry, status: Int, started: ContinuousClock.Instant) {
        if let ticket = entry.budget {
            // Admitted but never answered (refused after, or the send failed): the request is done.
            budget.finished(ticket, head: nil)
            entry.budget = nil
        }
        entry.status = status
        entry.latency = ContinuousClock.now - started
        if let span = entry.span {
            end(span, &entry)
            entry.span = nil
        }
        entry.emit(to: logger)
        metrics.request(
            client: entry.client, template: entry.template, decision: entry.decision ?? "error", status: entry.status, code: entry.code,
            duration: entry.latency)
    }
}
