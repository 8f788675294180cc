import Foundation
import GatewayTestSupport
import Logging
import Testing

@testable import GatewayProxy
@testable import GatewayRuntime

@Suite("policy explain")
struct PolicyExplanationTests {
    private func store(_ clients: [String: String]) throws -> PolicyStore {
        let directory = TemporaryDirectory()
        try directory.policies(at: "")
        for (name, text) in clients { directory.write("clients/\(name).yaml", text) }
        return try PolicyStore(directory: directory.path, logger: Logger(label: "test"))
    }

    @Test func explainsAnAllowAndTheTokenItWouldUse() throws {
        let client = TestClient("billing")
        let store = try store(["billing": client.policy(allow: ["contacts.readonly"], rateLimit: "5/1s")])
        let explanation = PolicyExplanation(
            snapshot: store.snapshot, client: "billing", method: "get", path: "/contacts/abc?x=1", location: nil, company: nil)
        #expect(explanation.allowed)
        #expect(explanation.lines.contains("route: GET /contacts/:contactId scopes: contacts.readonly access: Sub-Account"))
        #expect(explanation.lines.contains("target: location locSim0001, company -"))
        #expect(explanation.lines.contains { $0.hasPrefix("allow: GET /contacts/:contactId is allowed by scope contacts.readonly (") })
        #expect(explanation.lines.last == "token: location:locSim0001")
    }

    @Test func explainsDenials() throws {
        let client = TestClient("billing")
        let store = try store(["billing": client.policy(allow: ["contacts.readonly"], deny: ["GET /contacts/:contactId/tasks"])])
        func explain(_ method: String, _ path: String, location: String? = nil, client name: String = "billing") -> PolicyExplanation {
            PolicyExplanation(snapshot: store.snapshot, client: name, method: method, path: path, location: location, company: nil)
        }
        #expect(explain("GET", "/contacts/a/tasks").lines.last?.hasPrefix("deny: GET /contacts/:contactId/tasks is denied by route") == true)
        #expect(explain("GET", "/contacts/a", location: "other").lines.last == "deny: location other is not in the locations of billing")
        #expect(explain("GET", "/nothing").lines.last == "deny: route_unknown: no HighLevel route matches GET /nothing")
        #expect(explain("GET", "/contacts/%2e%2e").lines.last?.hasPrefix("deny: bad_request:") == true)
        #expect(explain("GET", "/contacts/a", client: "nobody").lines.last?.hasPrefix("deny: no client named 'nobody'") == true)
        #expect(!explain("GET", "/contacts/a/tasks").allowed)
    }

    @Test func explainsAnAgentsToolCall() throws {
        let agent = TestClient("agent")
        let store = try store(["agent": agent.policy(allow: ["contacts.readonly"])])
        func explain(_ tool: String, _ arguments: [String: String] = [:], method: String? = nil, path: String? = nil) -> PolicyExplanation {
            PolicyExplanation(
                snapshot: store.snapshot, client: "agent", tool: tool, arguments: arguments, method: method, path: path, location: "locSim0001",
                company: nil)
        }
        let named = explain("get_contact", ["contactId": "abc"])
        #expect(named.allowed)
        #expect(named.lines.contains("tool: get_contact → GET /contacts/abc"))
        #expect(named.lines.last == "token: location:locSim0001")
        let generic = explain("execute_operation", method: "GET", path: "/contacts/abc/tasks")
        #expect(generic.allowed)
        #expect(generic.lines.contains("route: GET /contacts/:contactId/tasks scopes: contacts.readonly access: Sub-Account"))
        let unlisted = explain("create_contact", ["firstName": "Ada"])
        #expect(!unlisted.allowed)
        #expect(unlisted.lines.last?.hasPrefix("deny: create_contact is not a tool of agent") == true)
        let missing = explain("get_contact")
        #expect(!missing.allowed)
        #expect(missing.lines.last == "deny: get_contact: contactId is required")
        #expect(explain("search_operations").allowed)
        let denied = explain("execute_operation", method: "DELETE", path: "/contacts/abc")
        #expect(!denied.allowed)
        #expect(denied.lines.last?.hasPrefix("deny: no allow rule of agent covers DELETE /contacts/:contactId") == true, "\(denied.lines)")
    }

    @Test func rejectedPoliciesAreReportedNotFatal() throws {
        let store = try store(["bad": "client: bad\nkey: nope\n"])
        #expect(store.status.rejectedIssues.count == 1)
        #expect(store.status.rejectedIssues.first?.hasSuffix("bad.yaml:2: key must be 'sha256:' followed by 64 hex digits") == true)
        #expect(store.snapshot.policies.clients.isEmpty)
    }

    @Test func theConfiguredLimitsApply() throws {
        let client = TestClient("billing")
        let store = try store(["billing": client.policy(allow: ["contacts.readonly"])])
        let path = "/contacts/" + String(repeating: "a", count: 40)
        let relaxed = PolicyExplanation(snapshot: store.snapshot, client: "billing", method: "GET", path: path, location: nil, company: nil)
        #expect(relaxed.allowed)
        var limits = GatewayConfiguration.Limits()
        limits.maxURLBytes = 32
        let strict = PolicyExplanation(
            snapshot: store.snapshot, client: "billing", method: "GET", path: path, location: nil, company: nil, limits: limits)
        #expect(!strict.allowed)
        #expect(strict.lines.last == "deny: bad_request: the URL is longer than 32 bytes")
    }
}
