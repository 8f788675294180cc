import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import HighLevelOAuth
import NIOCore
import ScopeCatalog
import TokenVault
import Tracing

/// One proxied request, from its head to its log line, as a value (AsyncHTTPClient's
/// `Transaction.StateMachine` is the model): the entry point reports what happened (an event) and
/// gets back what to do next (an `Action`). The order of the stages is written here and nowhere
/// else (docs/proxy.md):
///
///     authenticate → canonicalize → match → [read the body] → resolve the target
///     → [look up the company] → decide → rate limit → pick the token → [fetch it]
///     → place in HighLevel's budget → [wait for one] → [send] → [renew and replay once after a 401]
///     → answer or refuse → finish
///
/// The bracketed stages are actions, carried out by the entry point (the waits by
/// `ProxyPipeline.carry`, the same for both). The others run inside the events, synchronously,
/// through the pipeline's parts: a request whose token is in memory goes from its head to its send
/// without a task.
///
/// The exchange owns what must be given back however it ends: its place in a location's budget
/// (released with HighLevel's answer, else at `finish`) and its span (ended at `finish`). A dry
/// run (`policy explain`) goes through the same stages with a named client, consumes nothing and
/// stops with `wouldForward` where a live request would take its token.
struct ProxyExchange: Sendable {
    /// Where the stages get their parts: the running pipeline, or a dry run's snapshot and client.
    private enum Parts: Sendable {
        case live(ProxyPipeline)
        case dryRun(DryRun)
    }

    private enum State: Sendable {
        case head
        case readingBody(Routed)
        case awaitingCompany(Admitted)
        case awaitingToken(Admitted)
        case awaitingPlace(Admitted, AccessToken)
        /// Sent at `at` (the first send, when this is the replay).
        case sent(Admitted, AccessToken, at: ContinuousClock.Instant, replayed: Bool)
        case renewing(Admitted, answer: UpstreamResponse, at: ContinuousClock.Instant)
        /// Answered or refused: only `finish` is left.
        case done
    }

    let request: Request
    private(set) var entry: AccessLogEntry
    private(set) var trail = Trail()
    private let parts: Parts
    private let stages: ProxyStages
    private let started: ContinuousClock.Instant
    private var state = State.head
    private var body = UpstreamForwarder.Payload.empty
    private var ticket: UpstreamBudget.Ticket?
    private var span: (any Span)?

    /// `viaMCP`: the request an agent's tool call makes (`MCPTools`), kept as such in the audit trail.
    init(_ request: Request, pipeline: ProxyPipeline, viaMCP: Bool = false) {
        self.init(request, parts: .live(pipeline), stages: pipeline.stages)
        entry.viaMCP = viaMCP
    }

    /// A dry run for `client`: no key, nothing consumed, nothing asked of the vault or HighLevel.
    init(explaining request: Request, client: ClientPolicy, snapshot: PolicyStore.Snapshot, stages: ProxyStages) {
        self.init(request, parts: .dryRun(DryRun(snapshot: snapshot, client: client)), stages: stages)
    }

    private init(_ request: Request, parts: Parts, stages: ProxyStages) {
        self.request = request
        self.parts = parts
        self.stages = stages
        self.started = .now
        self.entry = AccessLogEntry(requestId: request.requestId, method: request.method.rawValue)
    }

    private var isDryRun: Bool {
        if case .dryRun = parts { true } else { false }
    }

    // MARK: Events

    /// The head arrived: the stages up to the body (when the entry point reads one), else up to
    /// the first that waits.
    mutating func start(memo: inout ConnectionMemo, readsBody: Bool) -> Action {
        do throws(GatewayError) {
            let routed = try routed(memo: &memo)
            guard readsBody else { return try admit(routed, body: nil) }
            let plan = try stages.bodyPlan(request.headers)
            state = .readingBody(routed)
            return .readBody(plan)
        } catch {
            return failed(error)
        }
    }

    /// The body, as the plan said to read it, with the target fields found in it.
    mutating func bodyRead(_ body: UpstreamForwarder.Payload, fields: BodyTarget?) -> Action {
        guard case .readingBody(let routed) = state else { preconditionFailure("a body read in \(state)") }
        self.body = body
        do throws(GatewayError) {
            return try admit(routed, body: fields)
        } catch {
            return failed(error)
        }
    }

    /// The target with its location's company (unchanged when the vault has none).
    mutating func companyFound(_ target: RequestTarget) -> Action {
        guard case .awaitingCompany(var admitted) = state else { preconditionFailure("a company found in \(state)") }
        admitted.requestTarget = target
        do throws(GatewayError) {
            return try authorize(admitted)
        } catch {
            return failed(error)
        }
    }

    mutating func tokenArrived(_ token: AccessToken) -> Action {
        guard case .awaitingToken(let admitted) = state else { preconditionFailure("a token arrived in \(state)") }
        do throws(GatewayError) {
            return try place(admitted, token)
        } catch {
            return failed(error)
        }
    }

    mutating func placeGranted(_ ticket: UpstreamBudget.Ticket) -> Action {
        guard case .awaitingPlace(let admitted, let token) = state else { preconditionFailure("a place granted in \(state)") }
        self.ticket = ticket
        return send(admitted, token, at: .now, replayed: false)
    }

    /// HighLevel's answer: renewed and replayed once after a 401 when the body can be sent again,
    /// else answered (its status logged, its time counted, the budget told).
    mutating func upstreamAnswered(_ answer: consuming UpstreamResponse) -> Action {
        guard case .sent(let admitted, let token, let at, let replayed) = state else { preconditionFailure("an answer in \(state)") }
        if !replayed, answer.head.status == .unauthorized, body.isReplayable {
            state = .renewing(admitted, answer: copy answer, at: at)
            return .renew(token, answer: answer)
        }
        return answered(answer, sentAt: at)
    }

    /// The broker's renewed token, or nil when it gives none (HighLevel's 401 is then the answer).
    mutating func renewed(_ token: AccessToken?) -> Action {
        guard case .renewing(let admitted, let answer, let at) = state else { preconditionFailure("a renewal in \(state)") }
        guard let token else { return answered(answer, sentAt: at) }
        entry.replayed = true
        do throws(GatewayError) {
            try TokenSelector.checkScope(admitted.route, token)
        } catch {
            return failed(error)
        }
        return send(admitted, token, at: at, replayed: true)
    }

    /// A refusal, whichever stage made it: noted for the log line.
    mutating func failed(_ error: GatewayError) -> Action {
        entry.code = error.code.rawValue
        if !error.code.messageQuotesCaller { entry.reason = error.message }
        state = .done
        return .refuse(error)
    }

    /// The answer is written (`status`): the log line, and what the exchange still holds, handed
    /// over (the entry is moved out, not copied: a copy counts a reference to each of its strings).
    mutating func finish(status: Int) -> Finish {
        entry.status = status
        entry.latency = ContinuousClock.now - started
        var finished = AccessLogEntry(requestId: "", method: "")
        swap(&finished, &entry)
        defer {
            ticket = nil
            span = nil
            state = .done
        }
        return Finish(entry: finished, ticket: ticket, span: span)
    }

    // MARK: Stages that need not wait

    /// Header size, caller, canonical target and route, against the policies in force now (as far
    /// as the connection's `memo` has them).
    private mutating func routed(memo: inout ConnectionMemo) throws(GatewayError) -> Routed {
        let caller: CallerAuthenticator.Caller
        let catalog: CompiledCatalog
        switch parts {
        case .live(let pipeline):
            try stages.checkHeaderSize(request.headers)
            let sent = request.headers[TraceParent.header]
            entry.trace = sent.flatMap(TraceParent.init)
            if let tracing = pipeline.tracing { span = tracing.startSpan(request.method.rawValue, kind: .server, parent: sent) }
            let snapshot = memo.snapshot(of: pipeline.store)
            caller = try pipeline.authenticator.authenticate(request.headers, policies: snapshot.policies, recent: &memo.caller)
            catalog = snapshot.catalog
            entry.key = caller.digest
            entry.policyRevision = snapshot.revision
        case .dryRun(let dryRun):
            caller = CallerAuthenticator.Caller(policy: dryRun.client, key: nil)
            catalog = dryRun.snapshot.catalog
        }
        entry.client = caller.policy.name
        let (target, match) = try stages.route(method: request.method.rawValue, path: request.path, catalog: catalog)
        entry.route = match.route
        if isDryRun { trail.route = match.route }
        return Routed(caller: caller, target: target, match: match)
    }

    /// The target (from the path, query, headers and the body's fields); its company looked up
    /// when the route takes a company's token and names a location.
    private mutating func admit(_ routed: Routed, body: BodyTarget?) throws(GatewayError) -> Action {
        let requestTarget = try stages.target(
            of: routed.match, query: routed.target.query, headers: request.headers, body: body, client: routed.client)
        if isDryRun { trail.target = requestTarget }
        let admitted = Admitted(routed: routed, requestTarget: requestTarget)
        if case .live = parts, TokenSelector.needsCompletion(requestTarget, for: routed.route) {
            state = .awaitingCompany(admitted)
            return .lookUpCompany(requestTarget, routed.route)
        }
        return try authorize(admitted)
    }

    /// The client's policy decision, its rate limit, then the token when memory has it.
    private mutating func authorize(_ admitted: Admitted) throws(GatewayError) -> Action {
        entry.location = admitted.requestTarget.location
        entry.company = admitted.requestTarget.company
        let client = admitted.routed.client
        let decision = client.decide(admitted.route, target: admitted.requestTarget)
        if isDryRun { trail.decision = decision }
        entry.rule = decision.rule
        entry.decision = decision.outcome.rawValue
        guard decision.allowed else { throw GatewayError(.policyDenied, decision.reason) }
        guard case .live(let pipeline) = parts else {
            state = .done
            return .wouldForward(admitted)
        }
        if let configured = client.rateLimit, case let limit = pipeline.replicas.share(of: configured),
            let wait = pipeline.rateLimiter.acquire(client: client.name, limit: limit)
        {
            entry.decision = "rate_limited"
            throw GatewayError(.rateLimited, "\(client.name) is over its rate limit of \(limit)", retryAfter: max(1, Int(wait.rounded(.up))))
        }
        let owner = try TokenSelector.owner(for: admitted.route, target: admitted.requestTarget)
        guard let token = pipeline.tokens.broker.cachedToken(for: owner) else {
            state = .awaitingToken(admitted)
            return .fetchToken(owner)
        }
        return try place(admitted, token)
    }

    /// The token's scope, then a place in its owner's HighLevel budget now when there is one (or
    /// the budget is not enforced), else a wait in its queue.
    private mutating func place(_ admitted: Admitted, _ token: AccessToken) throws(GatewayError) -> Action {
        try TokenSelector.checkScope(admitted.route, token)
        guard case .live(let pipeline) = parts else { preconditionFailure("a dry run stops before the token") }
        let client = admitted.routed.client
        switch try pipeline.budget.admit(token.owner, client: client.name) {
        case .mustWait:
            state = .awaitingPlace(admitted, token)
            return .waitForPlace(token.owner, client: client.name, weight: client.upstreamShare)
        case .admitted(let ticket):
            self.ticket = ticket
        case nil:
            break
        }
        return send(admitted, token, at: .now, replayed: false)
    }

    private mutating func send(_ admitted: Admitted, _ token: AccessToken, at: ContinuousClock.Instant, replayed: Bool) -> Action {
        state = .sent(admitted, token, at: at, replayed: replayed)
        return .send(Send(request: request, target: admitted.routed.target, token: token, body: body))
    }

    /// HighLevel's status in the log line, the time to its answer in the metrics, the place in
    /// the budget given back with what HighLevel said of it.
    private mutating func answered(_ answer: consuming UpstreamResponse, sentAt: ContinuousClock.Instant) -> Action {
        entry.upstreamStatus = Int(answer.head.status.code)
        if case .live(let pipeline) = parts {
            pipeline.metrics.upstream(ContinuousClock.now - sentAt)
            if let ticket {
                pipeline.budget.finished(ticket, head: answer.head)
                self.ticket = nil
            }
        }
        state = .done
        return .answer(answer)
    }
}
