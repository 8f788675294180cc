import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing

/// What a proxied request leaves behind for operators: its log line (trace, refusal reason) and
/// its metrics (who answered, how long it took).
@Suite("Request line and request metrics")
struct RequestLineTests {
    static let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aCallersTraceparentIsLoggedAndForwardedAsSent() async throws {
        let client = TestClient("c")
        let logs = LogCapture()
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly", "contacts.write"])], logs: logs) { harness in
            try await harness.install()
            let bodyTrace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
            let invalid = "00-ABCDEF1916CD43DD8448EB211C80319C-b7ad6b7169203331-01"
            // The first is answered in the connection's pipeline, the second (with a body) by Hummingbird.
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key, headers: [("traceparent", Self.trace)]).status == 200)
            let posted = try await harness.proxy(
                "POST", "/contacts/", key: client.key, headers: [("traceparent", bodyTrace), ("Content-Type", "application/json")],
                body: #"{"locationId":"locSim0001"}"#)
            #expect(posted.status == 200)
            #expect(try await harness.proxy("GET", "/contacts/b", key: client.key, headers: [("traceparent", invalid)]).status == 200)

            let text = logs.text
            #expect(text.contains("parentId=00f067aa0ba902b7") && text.contains("traceId=4bf92f3577b34da6a3ce929d0e0e4736"))
            #expect(text.contains("parentId=b7ad6b7169203331") && text.contains("traceId=0af7651916cd43dd8448eb211c80319c"))
            #expect(!text.contains("ABCDEF1916CD43DD") && !text.lowercased().contains("abcdef1916cd43dd"))
            let forwarded = await harness.simulator.state.calls.map { call in
                call.headers.first { $0.name.lowercased() == "traceparent" }?.value
            }
            #expect(forwarded == [Self.trace, bodyTrace, invalid])
        }
    }

    @Test func aRefusalsReasonIsLoggedUnlessItQuotesTheCaller() async throws {
        let client = TestClient("c")
        let logs = LogCapture()
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])], logs: logs) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/invoices/inv-7?locationId=locSim0001", key: client.key).status == 403)
            #expect(try await harness.proxy("GET", "/nowhere/caller-secret-path-id", key: client.key).status == 404)
            let text = logs.text
            #expect(text.contains("code=policy_denied"))
            #expect(text.contains("reason=no allow rule of c covers GET /invoices/:invoiceId"))
            #expect(text.contains("code=route_unknown"))
            #expect(!text.contains("caller-secret-path-id"))
            #expect(!text.contains("inv-7"))
        }
    }

    @Test func metricsTellTheGatewaysAnswersFromHighLevelsAndTimeEveryListener() async throws {
        let client = TestClient("c")
        try await GatewayHarness.run(clients: ["c": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
            await harness.simulator.state.failNextCalls(1, with: .status(404, headers: [:]))
            #expect(try await harness.proxy("GET", "/contacts/gone", key: client.key).status == 404)
            #expect(try await harness.proxy("GET", "/nowhere", key: client.key).status == 404)
            #expect(try await harness.admin("GET", "/health/tokens", token: "wrong").status == 401)

            let template = #"client="c",template="/contacts/:contactId",decision="allow""#
            #expect(try await harness.metric(#"ghl_gateway_requests_total{\#(template),status="404",origin="highlevel"}"#) == 1)
            #expect(try await harness.metric(#"ghl_gateway_requests_total{\#(template),status="200",origin="highlevel"}"#) == 1)
            #expect(
                try await harness.metric(#"ghl_gateway_requests_total{client="c",template="-",decision="error",status="404",origin="gateway"}"#) == 1)
            let proxy = #"ghl_gateway_request_duration_seconds_count{listener="proxy""#
            #expect(try await harness.metric(#"\#(proxy),decision="allow",code="-",status_class="2xx"}"#) == 1)
            #expect(try await harness.metric(#"\#(proxy),decision="allow",code="-",status_class="4xx"}"#) == 1)
            #expect(try await harness.metric(#"\#(proxy),decision="error",code="route_unknown",status_class="4xx"}"#) == 1)
            #expect(
                try await harness.metric(#"ghl_gateway_request_duration_seconds_count{listener="admin",decision="-",code="-",status_class="4xx"}"#)
                    == 1)
            #expect(
                try await harness.metric(#"ghl_gateway_request_duration_seconds_count{listener="public",decision="-",code="-",status_class="3xx"}"#)
                    >= 1)
        }
    }
}
