import GatewayPolicy
import GatewayTestSupport
import HTTPTypes
import HighLevelOAuth
import NIOCore
import NIOHTTP1
import Testing
import TokenVault

@testable import GatewayProxy
@testable import GatewayRuntime
@testable import GatewayServer

/// The exchange alone: events fed by hand, the actions it returns checked, nothing sent. Its
/// parts are a real gateway's (policies, broker with an installed location, HighLevel's budget).
@Suite("Proxy exchange state machine")
struct ProxyExchangeTests {
    static let client = TestClient("machine")
    static let policy = client.policy(
        locations: ["locSim0001"], companies: ["cmpSim0001"], allow: ["contacts.readonly", "contacts.write", "oauth.readonly"])

    private func request(_ method: HTTPRequest.Method, _ path: String, key: String = client.key) -> ProxyExchange.Request {
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(key)"
        headers[TargetResolver.locationHeader] = "locSim0001"
        return ProxyExchange.Request(method: method, path: path, headers: headers, requestId: "req-1")
    }

    private func answer(_ status: HTTPResponseStatus) -> UpstreamResponse {
        UpstreamResponse(head: HTTPResponseHead(version: .http1_1, status: status), body: .buffered(nil))
    }

    /// Runs `body` with a gateway whose location is installed, its token in memory, and the pipeline the proxy listener uses.
    private func withPipeline(
        highlevel: String = "", clients: [String: String] = [:], _ body: @Sendable (GatewayHarness, ProxyPipeline) async throws -> Void
    ) async throws {
        try await GatewayHarness.run(
            clients: clients.merging(["machine": Self.policy]) { $1 }, extraConfiguration: "upstream:\n  queue_seconds: 30",
            highlevelConfiguration: highlevel
        ) { harness in
            try await harness.install()
            _ = try await harness.gateway.broker.accessToken(for: .location("locSim0001"))
            try await body(harness, harness.gateway.makeProxyPipeline())
        }
    }

    @Test func aTokenInMemoryGoesFromHeadToSendWithoutWaiting() async throws {
        try await withPipeline { _, pipeline in
            var exchange = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .send(let send) = exchange.start(memo: &memo, readsBody: false) else {
                Issue.record("expected a send")
                return
            }
            #expect(send.target.path == "/contacts/abc")
            #expect(send.token.owner == .location("locSim0001"))
            #expect(exchange.entry.client == "machine")
            #expect(exchange.entry.decision == "allow")
            guard case .answer(let answer) = exchange.upstreamAnswered(answer(.ok)) else {
                Issue.record("expected the answer")
                return
            }
            #expect(answer.head.status == .ok)
            let finish = exchange.finish(status: 200)
            #expect(finish.entry.upstreamStatus == 200)
            #expect(finish.entry.status == 200)
        }
    }

    @Test func aTokenNotInMemoryIsFetchedThenSent() async throws {
        try await withPipeline { harness, pipeline in
            await harness.gateway.broker.forget(.location("locSim0001"))
            var exchange = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .fetchToken(let owner) = exchange.start(memo: &memo, readsBody: false) else {
                Issue.record("expected a token fetch")
                return
            }
            #expect(owner == .location("locSim0001"))
            let token = try await harness.gateway.broker.accessToken(for: owner)
            guard case .send(let send) = exchange.tokenArrived(token) else {
                Issue.record("expected a send")
                return
            }
            #expect(send.token.token == token.token)
        }
    }

    @Test func aBodyIsReadAfterTheRouteAndBeforeTheTarget() async throws {
        try await withPipeline { _, pipeline in
            var headers = request(.post, "/contacts/").headers
            headers[.contentType] = "application/json"
            headers[.contentLength] = "2"
            var exchange = ProxyExchange(.init(method: .post, path: "/contacts/", headers: headers, requestId: "r"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .readBody(let plan) = exchange.start(memo: &memo, readsBody: true) else {
                Issue.record("expected a body read")
                return
            }
            #expect(exchange.entry.location == nil)
            guard case .inspect = plan else {
                Issue.record("a JSON body is inspected for its target")
                return
            }
            guard case .send(let send) = exchange.bodyRead(.buffered(ByteBuffer(string: "{}")), fields: nil) else {
                Issue.record("expected a send")
                return
            }
            guard case .buffered(let body) = send.body else {
                Issue.record("the body read is the body sent")
                return
            }
            #expect(body == ByteBuffer(string: "{}"))
            #expect(exchange.entry.location == "locSim0001")
        }
    }

    @Test func a401IsRenewedAndReplayedOnceOnly() async throws {
        try await withPipeline { harness, pipeline in
            var exchange = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .send(let first) = exchange.start(memo: &memo, readsBody: false) else {
                Issue.record("expected a send")
                return
            }
            guard case .renew(let rejected, _) = exchange.upstreamAnswered(answer(.unauthorized)) else {
                Issue.record("a 401 asks for a renewal")
                return
            }
            #expect(rejected.token == first.token.token)
            let renewed = try await harness.gateway.broker.refresh(.location("locSim0001"))
            guard case .send(let replay) = exchange.renewed(renewed) else {
                Issue.record("a renewed token is replayed")
                return
            }
            #expect(replay.token.token == renewed.token)
            #expect(exchange.entry.replayed)
            guard case .answer(let second) = exchange.upstreamAnswered(answer(.unauthorized)) else {
                Issue.record("a second 401 is the answer")
                return
            }
            #expect(second.head.status == .unauthorized)
        }
    }

    @Test func withoutARenewedTokenHighLevels401IsTheAnswer() async throws {
        try await withPipeline { _, pipeline in
            var exchange = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            var memo = ConnectionMemo()
            _ = exchange.start(memo: &memo, readsBody: false)
            _ = exchange.upstreamAnswered(answer(.unauthorized))
            guard case .answer(let answer) = exchange.renewed(nil) else {
                Issue.record("the 401 is answered")
                return
            }
            #expect(answer.head.status == .unauthorized)
            #expect(!exchange.entry.replayed)
            #expect(exchange.finish(status: 401).entry.upstreamStatus == 401)
        }
    }

    @Test func refusalsAreNotedForTheLogLine() async throws {
        try await withPipeline { _, pipeline in
            var unknown = ProxyExchange(request(.get, "/contacts/abc", key: "ghlgw_unknown"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .refuse(let error) = unknown.start(memo: &memo, readsBody: false) else {
                Issue.record("an unknown key is refused")
                return
            }
            #expect(error.code == .unauthenticated)
            #expect(unknown.entry.code == "unauthenticated")
            var denied = ProxyExchange(request(.get, "/locations/locSim0001"), pipeline: pipeline)
            guard case .refuse(let denial) = denied.start(memo: &memo, readsBody: false) else {
                Issue.record("a route the policy does not allow is refused")
                return
            }
            #expect(denial.code == .policyDenied)
            #expect(denied.entry.decision == "deny")
            #expect(denied.finish(status: denial.code.status).entry.code == "policy_denied")
        }
    }

    @Test func anAgencyRouteNamedByItsLocationWaitsForItsCompany() async throws {
        let located = TestClient("located")
        let clients = ["located": located.policy(locations: ["locSim0001"], allow: ["oauth.readonly"])]
        try await withPipeline(clients: clients) { _, pipeline in
            var exchange = ProxyExchange(request(.get, "/oauth/installedLocations", key: located.key), pipeline: pipeline)
            var memo = ConnectionMemo()
            let first = exchange.start(memo: &memo, readsBody: false)
            guard case .lookUpCompany(let target, _) = first else {
                Issue.record("expected a company lookup, not \(first)")
                return
            }
            #expect(target.location == "locSim0001")
            #expect(exchange.entry.decision == nil)
            _ = exchange.companyFound(RequestTarget(location: "locSim0001", company: "cmpSim0001"))
            #expect(exchange.entry.decision != nil)
            #expect(exchange.entry.company == "cmpSim0001")
        }
    }

    /// The place in a location's budget belongs to the exchange: handed back with HighLevel's
    /// answer, else at `finish`; a full budget makes the next exchange wait for one.
    @Test func theExchangeOwnsItsPlaceInTheBudget() async throws {
        try await withPipeline(highlevel: "rate_limit: {burst: 1/10s}") { _, pipeline in
            var memo = ConnectionMemo()
            var first = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            guard case .send = first.start(memo: &memo, readsBody: false) else {
                Issue.record("the first request has a place at once")
                return
            }
            var second = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            let waiting = second.start(memo: &memo, readsBody: false)
            guard case .waitForPlace(let owner, let client, _) = waiting else {
                Issue.record("the second waits for a place, not \(waiting)")
                return
            }
            #expect(owner == .location("locSim0001"))
            #expect(client == "machine")
            let unanswered = first.finish(status: 502)
            #expect(unanswered.ticket != nil)
            pipeline.finish(unanswered)
            var third = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            guard case .waitForPlace = third.start(memo: &memo, readsBody: false) else {
                Issue.record("a place given back without an answer still counts in the window")
                return
            }
            #expect(third.finish(status: 499).ticket == nil)
            #expect(second.finish(status: 499).ticket == nil)
        }
    }

    @Test func anAnsweredExchangeHoldsNoPlaceAtItsFinish() async throws {
        try await withPipeline(highlevel: "rate_limit: {burst: 5/10s}") { _, pipeline in
            var exchange = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .send = exchange.start(memo: &memo, readsBody: false) else {
                Issue.record("expected a send")
                return
            }
            _ = exchange.upstreamAnswered(answer(.ok))
            #expect(exchange.finish(status: 200).ticket == nil)
        }
    }

    @Test func aDryRunConsumesNothingAndStopsBeforeTheToken() async throws {
        try await withPipeline(highlevel: "rate_limit: {burst: 1/10s}") { harness, pipeline in
            let snapshot = harness.gateway.policies.snapshot
            let client = try #require(snapshot.policies.clients["machine"])
            for _ in 0..<3 {
                var dryRun = ProxyExchange(
                    explaining: request(.get, "/contacts/abc"), client: client, snapshot: snapshot, stages: pipeline.stages)
                var memo = ConnectionMemo()
                guard case .wouldForward(let admitted) = dryRun.start(memo: &memo, readsBody: false) else {
                    Issue.record("a dry run stops before the token")
                    return
                }
                #expect(admitted.requestTarget.location == "locSim0001")
                #expect(dryRun.trail.decision?.allowed == true)
                #expect(dryRun.trail.route === admitted.route)
            }
            var live = ProxyExchange(request(.get, "/contacts/abc"), pipeline: pipeline)
            var memo = ConnectionMemo()
            guard case .send = live.start(memo: &memo, readsBody: false) else {
                Issue.record("the dry runs took no place in the budget")
                return
            }
        }
    }
}
