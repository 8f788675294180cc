import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// Requests answered in the connection's pipeline (`ProxyFastPath`) beside those Hummingbird answers.
@Suite("Proxy fast path")
struct ProxyFastPathTests {
    @Test func pipelinedRequestsAreAnsweredInOrderWhicheverPathServesThem() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly", "contacts.write"])]) { harness in
            try await harness.install()
            // Warm the token cache, so body-less calls are answered in the pipeline.
            #expect(try await harness.proxy("GET", "/contacts/warm", key: client.key).status == 200)
            let body = #"{"locationId":"locSim0001","firstName":"Ada"}"#
            let auth = "Authorization: Bearer \(client.key)\r\nHost: gateway\r\n"
            let pipelined =
                "GET /contacts/first HTTP/1.1\r\n\(auth)\r\n"
                + "POST /contacts/ HTTP/1.1\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                + "GET /contacts/second HTTP/1.1\r\n\(auth)\r\n"
                + "GET /nothing/here HTTP/1.1\r\n\(auth)\r\n"
                + "GET /contacts/last HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n"
            let answer = await RawHTTP.exchange(port: harness.proxyPort, pipelined, untilClosed: true)
            let statuses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200", "200", "404", "200"], "\(answer)")
            let order = [
                "\"path\":\"/contacts/first\"", "\"method\":\"POST\"", "\"path\":\"/contacts/second\"", "route_unknown",
                "\"path\":\"/contacts/last\"",
            ]
            .map { answer.range(of: $0)?.lowerBound }
            #expect(!order.contains(nil) && order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "\(answer)")
            #expect(answer.lowercased().components(separatedBy: "x-request-id: ").count == 6)
            let calls = await harness.simulator.state.calls.map(\.path)
            #expect(calls == ["/contacts/warm", "/contacts/first", "/contacts/", "/contacts/second", "/contacts/last"])
        }
    }

    @Test func anUpstream401IsRefreshedAndReplayedOnceThenPassedThrough() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: client.key).status == 200)
            await harness.simulator.state.rejectNextCalls(1)
            let replayed = try await harness.proxy("GET", "/contacts/once", key: client.key)
            #expect(replayed.status == 200)
            #expect(await harness.simulator.state.refreshes == 1)
            let stored = try #require(try await harness.gateway.vault.token(for: .location("locSim0001")))
            #expect(await harness.simulator.state.calls.last?.accessToken == stored.accessToken.revealed)
            #expect(harness.logs.text.contains("replayed=true"))

            // Refused again moments after its renewal: HighLevel's 401 passes through, nothing is
            // renewed or replayed (a HighLevel refusing every token cannot churn the refresh token).
            await harness.simulator.state.rejectNextCalls(1)
            let rejected = try await harness.proxy("GET", "/contacts/again", key: client.key)
            #expect(rejected.status == 401)
            #expect(await harness.simulator.state.refreshes == 1)
            #expect(await harness.simulator.state.rejectedCalls == 2)
            #expect(try await harness.proxy("GET", "/contacts/after", key: client.key).status == 200)
        }
    }

    @Test func aLongAnswerStreamsWithItsLength() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["medias.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/medias/files?sim_response_bytes=10", key: client.key).status == 200)
            let size = 3 * 1024 * 1024
            let answer = try await harness.proxy("GET", "/medias/files?sim_response_bytes=\(size)", key: client.key)
            #expect(answer.status == 200)
            #expect(answer.headers["content-length"] == String(size))
            #expect(answer.body.utf8.count == size)
            #expect(answer.headers["x-request-id"] != nil)
        }
    }

    @Test func answersLeaveFramedByHighLevelsLengthTheirOwnOrInChunks() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["medias.readonly", "contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: client.key).status == 200)
            // Chunked by HighLevel and short: read whole, then sent with its length.
            let short = try await harness.proxy("GET", "/medias/files?sim_response_bytes=1000&sim_unframed=1", key: client.key)
            #expect(short.headers["content-length"] == "1000")
            #expect(short.headers["transfer-encoding"] == nil)
            #expect(short.body.utf8.count == 1000)
            // Chunked and long: streamed on in chunks.
            let size = 300 * 1024
            let long = try await harness.proxy("GET", "/medias/files?sim_response_bytes=\(size)&sim_unframed=1", key: client.key)
            #expect(long.headers["transfer-encoding"] == "chunked")
            #expect(long.headers["content-length"] == nil)
            #expect(long.body.utf8.count == size)
            // No body: no length either, and the connection goes on to the next answer.
            let (answer, first) = await Self.answers("GET /contacts/a?sim_status=204", thenAnotherFrom: harness, key: client.key)
            #expect(first.hasPrefix("204") && !first.lowercased().contains("content-length"), "\(answer)")
        }
    }

    /// `request`'s answer on a connection (`rest`: what follows its `Host` and `Authorization`
    /// lines), then the answer to a `GET` after it (checked): the whole text, and the first answer
    /// from its status on.
    private static func answers(
        _ request: String, _ rest: String = "\r\n", thenAnotherFrom harness: GatewayHarness, key: String
    ) async -> (String, String) {
        let auth = "Host: gateway\r\nAuthorization: Bearer \(key)\r\n"
        let answer = await RawHTTP.exchange(
            port: harness.proxyPort, "\(request) HTTP/1.1\r\n\(auth)\(rest)GET /contacts/b HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n",
            untilClosed: true)
        let heads = answer.components(separatedBy: "HTTP/1.1 ").dropFirst()
        #expect(heads.count == 2 && heads.last?.hasPrefix("200") == true, "\(answer)")
        #expect(answer.contains("\"path\":\"/contacts/b\""), "\(answer)")
        return (answer, heads.first ?? "")
    }

    @Test func anAnswerToHeadHasNoBodyAndTheNextAnswerFollowsIt() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: client.key).status == 200)
            // A refusal (404, its JSON's length in the head), then an answer from HighLevel.
            let (answer, first) = await Self.answers("HEAD /nothing/here", thenAnotherFrom: harness, key: client.key)
            #expect(first.hasPrefix("404") && first.lowercased().contains("content-length: "), "\(answer)")
            #expect(first.hasSuffix("\r\n\r\n"), "nothing after the head: \(answer)")
        }
    }

    /// A `HEAD` with a body goes to Hummingbird: its answer leaves through NIO's encoder, which on
    /// this listener is not told the method, so the fast path keeps the body back.
    @Test func anAnswerToHeadFromHummingbirdHasNoBodyAndTheNextAnswerFollowsIt() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: client.key).status == 200)
            let (answer, first) = await Self.answers(
                "HEAD /nothing/here", "Content-Length: 1\r\n\r\nx", thenAnotherFrom: harness, key: client.key)
            #expect(first.hasPrefix("404") && first.lowercased().contains("content-length: "), "\(answer)")
            #expect(first.hasSuffix("\r\n\r\n"), "nothing after the head: \(answer)")
        }
    }

    @Test func theLastAnswerAConnectionMayCarrySaysCloseThenTheConnectionCloses() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(
            clients: ["c": client.policy(allow: ["contacts.readonly"])], extraConfiguration: "limits:\n  proxy:\n    max_requests_per_connection: 2\n"
        ) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: client.key).status == 200)
            let auth = "Host: gateway\r\nAuthorization: Bearer \(client.key)\r\n"
            let request = "GET /contacts/a HTTP/1.1\r\n\(auth)\r\n"
            let answer = await RawHTTP.exchange(port: harness.proxyPort, request + request + request, untilClosed: true)
            let heads = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.lowercased() }
            #expect(heads.map { $0.prefix(3) } == ["200", "200"], "\(answer)")
            #expect(heads.map { $0.contains("\r\nconnection: close\r\n") } == [false, true], "\(answer)")
            #expect(heads.last?.contains("\r\n\r\n{") == true, "the blank line ends the head: \(answer)")
        }
    }

    @Test func refusalsWithoutABodyAreAnsweredOnTheConnectionAsJSON() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"], rateLimit: "1/60s")]) { harness in
            try await harness.install()
            let auth = "Host: gateway\r\nAuthorization: Bearer \(client.key)\r\n"
            let pipelined =
                "GET /contacts/a HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ghlgw_unknown\r\n\r\n"
                + "GET /contacts/b HTTP/1.1\r\n\(auth)\r\n"
                + "DELETE /contacts/c HTTP/1.1\r\n\(auth)\r\n"
                + "GET /contacts/d HTTP/1.1\r\n\(auth)\r\n"
                + "GET /contacts/e HTTP/1.1\r\n\(auth)Connection: close\r\n\r\n"
            let answer = await RawHTTP.exchange(port: harness.proxyPort, pipelined, untilClosed: true)
            let statuses = answer.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            // Unknown key; allowed (the first call exchanges the token); denied; over the rate limit (twice).
            #expect(statuses == ["401", "200", "403", "429", "429"], "\(answer)")
            for code in ["unauthenticated", "policy_denied", "rate_limited"] {
                #expect(answer.contains("{\"error\":{\"code\":\"\(code)\""), "\(code)")
            }
            let heads = answer.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(heads.allSatisfy { $0.lowercased().contains("\r\ndate: ") }, "\(answer)")
            #expect(heads.filter { $0.hasPrefix("429") }.allSatisfy { $0.lowercased().contains("\r\nretry-after: ") })
            #expect(await harness.simulator.state.calls.map(\.path) == ["/contacts/b"])
            #expect(
                try await harness.metric(
                    #"ghl_gateway_requests_total{client="c",template="/contacts/:contactId",decision="rate_limited",status="429",origin="gateway"}"#)
                    == 2)
        }
    }

    @Test func aKeptConnectionFollowsEachRequestsKeyAndThePolicyInForce() async throws {
        let first = TestClient("first")
        let second = TestClient("second")
        try await GatewayHarness.run(clients: [
            "first": first.policy(allow: ["contacts.readonly"]), "second": second.policy(allow: ["contacts.write"]),
        ]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: first.key).status == 200)
            let connection = try #require(RawConnection(port: harness.proxyPort))
            func call(_ key: String) async -> String {
                connection.send("GET /contacts/a HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer \(key)\r\n\r\n")
                return String(await connection.readResponse(timeout: 10).text.prefix(12))
            }
            #expect(await call(first.key) == "HTTP/1.1 200")
            // The same connection, another key: that client's policy, not the one before.
            #expect(await call(second.key) == "HTTP/1.1 403")
            #expect(await call(first.key) == "HTTP/1.1 200")
            // A reload that takes the first client's key away applies to the open connection too.
            try await harness.reloadingPolicies { harness.writeClient("first", TestClient("first").policy(allow: ["contacts.readonly"])) }
            #expect(await call(first.key) == "HTTP/1.1 401")
        }
    }
}
