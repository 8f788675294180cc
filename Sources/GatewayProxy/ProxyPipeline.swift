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

/// The proxy's parts (docs/proxy.md): the policy store, the stages, the token broker, the
/// forwarder, the client rate limits, HighLevel's budget, metrics and tracing; and the one way
/// both entry points carry out an exchange's actions. The order of the stages is
/// `ProxyExchange`'s; the entry points (`ProxyFastPath` in the NIO pipeline, `ProxyResponder`
/// under Hummingbird) read and write bytes and carry out its actions.
package final class ProxyPipeline: Sendable {
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
    /// Where every exchange's decision is kept (`audit:`); nil with `record: off`.
    let audit: AuditTrail?
    let logger: Logger
    let authenticator: CallerAuthenticator

    package init(
        store: PolicyStore, broker: TokenBroker, forwarder: UpstreamForwarder, limits: GatewayConfiguration.Limits,
        replicas: ReplicaHeartbeat, budget: UpstreamBudget, metrics: GatewayMetrics, tracing: GatewayTracing?, audit: AuditTrail?,
        logger: Logger
    ) {
        self.tracing = tracing
        self.audit = audit
        self.authenticator = CallerAuthenticator(onWarnedUse: audit.map(Self.keepWarnedUse))
        self.store = store
        self.replicas = replicas
        self.budget = budget
        self.stages = ProxyStages(limits: limits)
        self.tokens = TokenSelector(broker: broker)
        self.forwarder = forwarder
        self.metrics = metrics
        self.logger = logger
    }

    /// A key used past its expiry warning, kept in the audit trail (once a key and day).
    private static func keepWarnedUse(in audit: AuditTrail) -> CallerAuthenticator.WarnedUse {
        { client, key, expires, expired in
            audit.admin(
                expired ? "key.expired_use" : "key.warned_use", expired ? "refused" : "allowed",
                detail: "\(client) \(key) expires \(expires.formatted(.iso8601))")
        }
    }

    /// Carries out `action` and those after it until the exchange has an answer or a refusal:
    /// the body read as `readBody` does it, the company, the token, the wait for a place, the
    /// send, the renewal and replay.
    func carry(
        _ action: ProxyExchange.Action, _ exchange: inout ProxyExchange, on loop: any EventLoop,
        readBody: (ProxyStages.BodyPlan) async throws(GatewayError) -> (UpstreamForwarder.Payload, BodyTarget?)
    ) async -> Result<UpstreamResponse, GatewayError> {
        var action = action
        while true {
            switch action {
            case .readBody(let plan):
                do throws(GatewayError) {
                    let (body, fields) = try await readBody(plan)
                    action = exchange.bodyRead(body, fields: fields)
                } catch {
                    action = exchange.failed(error)
                }
            case .lookUpCompany(let target, let route):
                action = exchange.companyFound(await tokens.completing(target, for: route))
            case .fetchToken(let owner):
                do throws(BrokerError) {
                    action = exchange.tokenArrived(try await tokens.broker.accessToken(for: owner))
                } catch {
                    action = exchange.failed(GatewayError(error))
                }
            case .waitForPlace(let owner, let client, let weight):
                do throws(GatewayError) {
                    action = exchange.placeGranted(try await budget.acquire(owner, client: client, weight: weight))
                } catch {
                    action = exchange.failed(error)
                }
            case .send(let send):
                do throws(GatewayError) {
                    action = exchange.upstreamAnswered(try await self.send(send, on: loop))
                } catch {
                    action = exchange.failed(error)
                }
            case .renew(let token, let answer):
                do throws(BrokerError) {
                    let renewed = try await tokens.broker.accessToken(replacing: token)
                    if renewed != nil { await answer.discard() }
                    action = exchange.renewed(renewed)
                } catch {
                    await answer.discard()
                    action = exchange.failed(GatewayError(error))
                }
            case .answer(let answer):
                return .success(answer)
            case .refuse(let error):
                return .failure(error)
            case .wouldForward:
                preconditionFailure("only a dry run stops before its token")
            }
        }
    }

    /// The request to HighLevel, streamed or buffered as its body is.
    private func send(_ send: ProxyExchange.Send, on loop: any EventLoop) async throws(GatewayError) -> UpstreamResponse {
        try await forwarder.send(
            method: send.request.method, target: send.target, headers: send.request.headers, wire: send.request.wire, body: send.body,
            token: send.token.token, requestId: send.request.requestId, on: loop)
    }

    /// A send without a body from the event loop, without a task or a future (the fast path):
    /// HighLevel's answer goes to `completion` on `loop`.
    func sendNow(_ send: ProxyExchange.Send, on loop: any EventLoop, completion: @escaping UpstreamCompletion) throws(GatewayError) {
        let head = try forwarder.head(
            method: send.request.method, target: send.target, headers: send.request.headers, wire: send.request.wire, body: .empty,
            token: send.token.token, requestId: send.request.requestId)
        forwarder.pool.send(head: head, body: nil, on: loop, completion: completion)
    }

    /// The request's span, named by its route and ended; its trace goes into the log line.
    private func end(_ span: any Span, _ entry: inout AccessLogEntry) {
        span.operationName = entry.routeName
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

    /// Carries out an exchange's end: a place it still holds given back (admitted but never
    /// answered: refused after, or the send failed), its span ended, its line logged, audited and counted.
    func finish(_ finish: consuming ProxyExchange.Finish) {
        if let ticket = finish.ticket { budget.finished(ticket, head: nil) }
        let span = finish.span
        // The entry taken out of `finish`, not copied (a copy counts a reference to each of its strings).
        var entry = AccessLogEntry(requestId: "", method: "")
        swap(&entry, &finish.entry)
        if let span { end(span, &entry) }
        entry.emit(to: logger)
        metrics.request(
            client: entry.client, template: entry.template, decision: entry.decision ?? "error", status: entry.status, code: entry.code,
            duration: entry.latency)
        if let audit, audit.keeps(admin: false, allowed: entry.decision == "allow" && entry.code == nil) { audit.record(entry.auditRecord()) }
    }
}
