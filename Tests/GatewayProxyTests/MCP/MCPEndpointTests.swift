import Foundation
import GatewayTestSupport
import NIOCore
import Testing

/// `POST /mcp` end to end: the official `mcp` client in both protocol eras, JSON-RPC's edge cases
/// over raw HTTP, and tool calls going through the proxy's own exchange to the simulator.
@Suite("MCP endpoint")
struct MCPEndpointTests {
    static let clientInstalled = ChildProcess.exitStatus("/usr/bin/env", ["python3", "-c", "import mcp"]) == 0
    static let agent = TestClient("agent")
    static let idle = TestClient("idle")
    static let clients = [
        "agent": agent.policy(locations: ["locSim0001"], allow: ["contacts.readonly", "contacts.write"]),
        "idle": idle.policy(locations: ["locSim0001"], allow: ["DELETE /contacts/:contactId"]),
    ]

    /// A JSON-RPC message to `/mcp` as `key`; the status and the decoded answer (nil when empty).
    private func post(
        _ harness: GatewayHarness, _ body: String, key: String = agent.key, headers: [(String, String)] = []
    ) async throws -> (status: Int, json: [String: Any]?) {
        let answer = try await harness.send(
            "POST", harness.proxyURL + "/mcp",
            headers: [("Authorization", "Bearer \(key)"), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
                + headers, body: ByteBuffer(string: body))
        let json = answer.body.isEmpty ? nil : try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
        return (answer.status, json)
    }

    private func errorCode(_ json: [String: Any]?) -> Int? {
        (json?["error"] as? [String: Any])?["code"] as? Int
    }

    @Test(.enabled(if: clientInstalled, "the MCP client is not installed: pip install mcp"), arguments: ["legacy", "auto"])
    func theOfficialClientListsSearchesAndCallsThroughThePolicy(mode: String) async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let run = try await ChildProcess.run(
                "/usr/bin/env",
                [
                    "python3", GatewayHarness.repositoryRoot + "/scripts/mcp_client_session.py", harness.proxyURL + "/mcp", Self.agent.key, mode,
                    "locSim0001", "contact-7",
                ])
            #expect(run.status == 0, "\(run.text)")
            let line = try #require(run.text.split(separator: "\n").last { $0.hasPrefix("{") })
            let seen = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(seen["protocolVersion"] as? String == (mode == "legacy" ? "2025-11-25" : "2026-07-28"))
            #expect(
                seen["tools"] as? [String] == [
                    "create_contact", "describe_operation", "execute_operation", "get_contact", "list_locations", "search_operations",
                ])
            #expect((seen["search"] as? String)?.contains("GET /contacts/:contactId") == true)
            let read = try #require(seen["read"] as? [String: Any])
            #expect(read["isError"] as? Bool == false, "\(read)")
            #expect((read["text"] as? String)?.hasPrefix("HTTP 200") == true)
            #expect((seen["delete"] as? [String: Any])?["isError"] as? Bool == true)
            let denied = try #require(seen["denied"] as? [String: Any])
            #expect(denied["isError"] as? Bool == true)
            #expect((denied["text"] as? String)?.contains("policy_denied") == true, "\(denied)")
            let calls = await harness.simulator.state.calls
            #expect(calls.filter { $0.path == "/contacts/contact-7" }.count == 1)
            #expect(calls.contains { $0.path.hasPrefix("/locations/") } == false)
            let stored = try #require(try await harness.gateway.vault.token(for: .location("locSim0001")))
            #expect(calls.last { $0.path == "/contacts/contact-7" }?.accessToken == stored.accessToken.revealed)
            #expect(!calls.contains { call in call.headers.contains { $0.value.contains(Self.agent.key) } })
        }
    }

    @Test func jsonRPCEdgesAnswerAsTheSpecificationSays() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            let badJSON = try await post(harness, "{not json")
            #expect(badJSON.status == 400)
            #expect(errorCode(badJSON.json) == -32700)
            let batch = try await post(harness, #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
            #expect(batch.status == 400)
            #expect(errorCode(batch.json) == -32600)
            let unknown = try await post(harness, #"{"jsonrpc":"2.0","id":2,"method":"resources/list"}"#)
            #expect(unknown.status == 200)
            #expect(errorCode(unknown.json) == -32601)
            #expect(unknown.json?["id"] as? Int == 2)
            let future = try await post(
                harness,
                #"{"jsonrpc":"2.0","id":"v","method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01"}}}"#)
            #expect(errorCode(future.json) == -32022)
            let supported = ((future.json?["error"] as? [String: Any])?["data"] as? [String: Any])?["supported"] as? [String]
            #expect(supported?.contains("2026-07-28") == true)
            let mismatch = try await post(
                harness,
                #"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
                headers: [("MCP-Protocol-Version", "2025-11-25")])
            #expect(errorCode(mismatch.json) == -32020)
            let old = try await post(harness, #"{"jsonrpc":"2.0","id":4,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}"#)
            #expect((old.json?["result"] as? [String: Any])?["protocolVersion"] as? String == "2025-11-25")
            let notification = try await post(harness, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            #expect(notification.status == 202)
            #expect(notification.json == nil)
            let unknownTool = try await post(harness, #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"drop_tables"}}"#)
            #expect(errorCode(unknownTool.json) == -32602)
        }
    }

    @Test func theEndpointRefusesWhatIsNotAnAuthenticatedPost() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            let ping = #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
            #expect(try await post(harness, ping, key: "ghlgw_unknown").status == 401)
            #expect(try await post(harness, ping, headers: [("Origin", "https://evil.example")]).status == 403)
            let get = try await harness.send("GET", harness.proxyURL + "/mcp", headers: [("Authorization", "Bearer \(Self.agent.key)")])
            #expect(get.status == 405)
            #expect(get.headers["allow"] == "POST")
            let big = String(repeating: " ", count: (1 << 20) + 1)
            #expect(try await post(harness, big).status == 413)
            #expect(try await post(harness, ping).status == 200)
        }
    }

    /// Two callers with the same JSON-RPC id at once each get their own answer, by their own policy.
    @Test func answersAreThoseOfTheCallerWhateverTheId() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            let list = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
            async let agent = post(harness, list)
            async let idle = post(harness, list, key: Self.idle.key)
            let (agentTools, idleTools) = try await (agent, idle)
            #expect(Self.toolNames(agentTools.json).contains("get_contact"))
            #expect(Self.toolNames(idleTools.json) == ["describe_operation", "execute_operation", "list_locations", "search_operations"])
            let search = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_operations","arguments":{"query":"contacts"}}}"#
            async let agentSearch = post(harness, search)
            async let idleSearch = post(harness, search, key: Self.idle.key)
            let (agentFound, idleFound) = try await (agentSearch, idleSearch)
            let agentText = Self.text(agentFound.json)
            let idleText = Self.text(idleFound.json)
            #expect(agentText.contains("GET /contacts/:contactId"))
            #expect(!idleText.contains("GET /contacts/:contactId"))
            #expect(idleText.contains("DELETE /contacts/:contactId"))
        }
    }

    @Test func aDeleteNeedsConfirmationAndThenRunsThePipeline() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let call = #"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"execute_operation","arguments":"#
            let unconfirmed = try await post(
                harness, call + #"{"method":"DELETE","path":"/contacts/c1","locationId":"locSim0001"}}}"#, key: Self.idle.key)
            #expect(Self.text(unconfirmed.json).contains("confirm: true"))
            #expect(await harness.simulator.state.calls.contains { $0.method == "DELETE" } == false)
            let lines = harness.logs.count(["request"])
            let confirmed = try await post(
                harness, call + #"{"method":"DELETE","path":"/contacts/c1","locationId":"locSim0001","confirm":true}}}"#, key: Self.idle.key)
            #expect(Self.text(confirmed.json).hasPrefix("HTTP 200"), "\(Self.text(confirmed.json))")
            #expect(await harness.simulator.state.calls.contains { $0.method == "DELETE" && $0.path == "/contacts/c1" })
            // The call's own request line, as a proxied call's (logged just after its answer is written).
            try await harness.logs.wait(for: ["request"], after: lines)
            let line = try #require(harness.logs.text.split(separator: "\n").last { $0.contains(": request ") && $0.contains("method=DELETE") })
            #expect(line.contains("client=idle") && line.contains("decision=allow") && line.contains("upstreamStatus=200"), "\(line)")
        }
    }

    @Test func namedToolsAndLocationsFollowThePolicy() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let call = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"#
            let locations = Self.text(try await post(harness, call + #"{"name":"list_locations"}}"#).json)
            #expect(locations.contains("locSim0001 (company cmpSim0001)"), "\(locations)")
            #expect(!locations.contains("locSim0002"))
            let read = try await post(harness, call + #"{"name":"get_contact","arguments":{"contactId":"c9","locationId":"locSim0001"}}}"#)
            #expect(Self.text(read.json).hasPrefix("HTTP 200"), "\(Self.text(read.json))")
            #expect(await harness.simulator.state.calls.last?.path == "/contacts/c9")
            // An id is one segment: a slash in it is encoded, and the proxy refuses an encoded slash.
            let slashed = try await post(
                harness, call + #"{"name":"get_contact","arguments":{"contactId":"a/b","locationId":"locSim0001"}}}"#)
            #expect(Self.text(slashed.json).hasPrefix("refused (bad_request)"), "\(Self.text(slashed.json))")
            #expect(await harness.simulator.state.calls.contains { $0.path.hasPrefix("/contacts/a") } == false)
            let missing = try await post(harness, call + #"{"name":"get_contact","arguments":{"locationId":"locSim0001"}}}"#)
            #expect(Self.text(missing.json).contains("contactId is required"))
            let notAllowed = try await post(
                harness, call + #"{"name":"send_message","arguments":{"locationId":"locSim0001","type":"SMS","contactId":"c"}}}"#)
            #expect(errorCode(notAllowed.json) == -32602)
            #expect(await harness.simulator.state.calls.contains { $0.path == "/conversations/messages" } == false)
            // An uninstalled location is no longer one the agent may act on.
            #expect(try await harness.admin("DELETE", "/tokens?location=locSim0001").status == 200)
            let after = Self.text(try await post(harness, call + #"{"name":"list_locations"}}"#).json)
            #expect(after == "no installed location this client may act on", "\(after)")
        }
    }

    @Test func whatAPolicyMarksDestructiveNeedsConfirmationAndAnOptOutNeedsNone() async throws {
        let careful = TestClient("careful")
        let trusted = TestClient("trusted")
        let clients = [
            "careful": careful.policy(allow: ["contacts.readonly", "contacts.write"]) + "mcp:\n  destructive: [contacts.write]\n",
            "trusted": trusted.policy(allow: ["contacts.write"]) + "mcp:\n  confirm: false\n",
        ]
        try await GatewayHarness.run(clients: clients) { harness in
            try await harness.install()
            let call = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"#
            let create = call + #"{"name":"create_contact","arguments":{"locationId":"locSim0001","firstName":"Ada""#
            let unconfirmed = try await post(harness, create + "}}}", key: careful.key)
            #expect(Self.text(unconfirmed.json).contains("POST /contacts changes data in HighLevel"), "\(Self.text(unconfirmed.json))")
            #expect(await harness.simulator.state.calls.contains { $0.method == "POST" } == false)
            let confirmed = try await post(harness, create + #","confirm":true}}}"#, key: careful.key)
            #expect(Self.text(confirmed.json).hasPrefix("HTTP 200"), "\(Self.text(confirmed.json))")
            let read = try await post(
                harness, call + #"{"name":"get_contact","arguments":{"locationId":"locSim0001","contactId":"c1"}}}"#, key: careful.key)
            #expect(Self.text(read.json).hasPrefix("HTTP 200"))
            let delete = try await post(
                harness,
                call + #"{"name":"execute_operation","arguments":{"method":"DELETE","path":"/contacts/c2","locationId":"locSim0001"}}}"#,
                key: trusted.key)
            #expect(Self.text(delete.json).hasPrefix("HTTP 200"), "\(Self.text(delete.json))")
            #expect(await harness.simulator.state.calls.contains { $0.method == "DELETE" && $0.path == "/contacts/c2" })
        }
    }

    /// The second call waits in its location's HighLevel budget (one call in 10 s) for longer
    /// than `mcp_call_seconds`: the agent is answered at the deadline, and nothing more is sent.
    @Test func aCallWithoutAnAnswerInTimeIsGivenUp() async throws {
        try await GatewayHarness.run(
            clients: Self.clients, extraConfiguration: "limits:\n  mcp_call_seconds: 1\nupstream:\n  queue_seconds: 30",
            highlevelConfiguration: "rate_limit: {burst: 1/10s}"
        ) { harness in
            try await harness.install()
            _ = try await harness.gateway.broker.accessToken(for: .location("locSim0001"))
            let call =
                #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_contact","arguments":{"locationId":"locSim0001","contactId":"c1"}}}"#
            #expect(Self.text(try await post(harness, call).json).hasPrefix("HTTP 200"))
            let started = ContinuousClock.now
            let waited = try await post(harness, call)
            #expect(Self.text(waited.json).contains("no answer within 1.0 s"), "\(Self.text(waited.json))")
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(await harness.simulator.state.calls.filter { $0.path == "/contacts/c1" }.count == 1)
        }
    }

    /// With HighLevel's OpenAPI specs in the policies folder, as a deployment that ships them has.
    @Test func describeOperationReadsTheSpecThatDefinesTheRoute() async throws {
        let directory = TemporaryDirectory()
        _ = try directory.policies()
        try FileManager.default.copyItem(atPath: GatewayHarness.repositoryRoot + "/policies/openapi", toPath: directory.file("policies/openapi"))
        try await GatewayHarness.run(directory: directory, clients: Self.clients) { harness in
            let call = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"describe_operation","arguments":"#
            let described = try await post(harness, call + #"{"method":"POST","path":"/contacts/"}}}"#)
            let result = try #require(described.json?["result"] as? [String: Any])
            #expect(result["isError"] as? Bool == false)
            let structured = try #require(result["structuredContent"] as? [String: Any])
            #expect(structured["path"] as? String == "/contacts")
            let body = try #require(structured["body"] as? [String: Any])
            #expect((body["properties"] as? [String: Any])?["firstName"] != nil, "\(body)")
            let byId = try await post(harness, call + #"{"method":"GET","path":"/contacts/abc"}}}"#)
            let parameters = ((byId.json?["result"] as? [String: Any])?["structuredContent"] as? [String: Any])?["parameters"] as? [[String: Any]]
            #expect(parameters?.contains { $0["name"] as? String == "contactId" && $0["in"] as? String == "path" } == true)
            #expect(parameters?.contains { $0["name"] as? String == "Version" } == false)
            let denied = try await post(harness, call + #"{"method":"GET","path":"/locations/x"}}}"#)
            #expect((denied.json?["result"] as? [String: Any])?["isError"] as? Bool == true)
            #expect(Self.text(denied.json).contains("may not call GET /locations/:locationId"))
        }
    }

    private static func toolNames(_ json: [String: Any]?) -> [String] {
        (((json?["result"] as? [String: Any])?["tools"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }.sorted()
    }

    private static func text(_ json: [String: Any]?) -> String {
        let content = (json?["result"] as? [String: Any])?["content"] as? [[String: Any]]
        return content?.compactMap { $0["text"] as? String }.joined(separator: "\n") ?? ""
    }
}
