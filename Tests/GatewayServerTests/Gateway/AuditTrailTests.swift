import Foundation
import GatewayPolicy
import GatewayTestSupport
import Testing
import TokenVault

@testable import GatewayServer

/// The audit trail of a running gateway: a proxied call, a refusal, an agent's tool call, an
/// operator's action and a policy reload each kept once, with their key by digest prefix only,
/// readable at `GET /audit` by filter and page.
@Suite("Audit trail")
struct AuditTrailTests {
    static let crm = TestClient("crm")

    private func page(_ harness: GatewayHarness, _ query: String) async throws -> (entries: [[String: Any]], next: Int?) {
        let answer = try await harness.admin("GET", "/audit" + query)
        #expect(answer.status == 200, "\(answer.body)")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        return ((body["entries"] as? [[String: Any]]) ?? [], body["next"] as? Int)
    }

    /// Writes what the trail holds until an entry about `subject` is there: a request is kept just
    /// after its answer is written, a reload just after the store logs it. Bounded (5 s).
    private func flush(_ harness: GatewayHarness, until subject: String) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        repeat {
            await harness.gateway.audit?.flush()
            if try await harness.gateway.vault.auditEntries(AuditQuery()).contains(where: { $0.record.subject == subject }) { return }
            await Task.yield()
        } while ContinuousClock.now < deadline
    }

    @Test func decisionsAndActionsAreKeptChainedAndNeverASecret() async throws {
        try await GatewayHarness.run(clients: ["crm": Self.crm.policy(allow: ["contacts.readonly"])], auditRecord: "all") { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a1", key: Self.crm.key).status == 200)
            #expect(try await harness.proxy("GET", "/locations/locSim0001", key: Self.crm.key).status == 403)
            let mcp = try await harness.send(
                "POST", harness.proxyURL + "/mcp",
                headers: [("Authorization", "Bearer \(Self.crm.key)"), ("Content-Type", "application/json")],
                body: .init(
                    string:
                        #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_contact","arguments":{"locationId":"locSim0001","contactId":"a2"}}}"#
                ))
            #expect(mcp.status == 200)
            for tool in ["search_operations", "drop_tables"] {
                let call = try await harness.send(
                    "POST", harness.proxyURL + "/mcp",
                    headers: [("Authorization", "Bearer \(Self.crm.key)"), ("Content-Type", "application/json")],
                    body: .init(
                        string: #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"\#(tool)","arguments":{"query":"contacts"}}}"#))
                #expect(call.status == 200)
            }
            #expect(try await harness.admin("POST", "/tokens/refresh?location=locSim0001").status == 200)
            try await harness.reloadingPolicies { harness.writeClient("crm", Self.crm.policy(allow: ["contacts.readonly", "contacts.write"])) }
            try await flush(harness, until: "policy.reload")

            let all = try await page(harness, "")
            let subjects = all.entries.map { "\($0["kind"] ?? "") \($0["subject"] ?? "") \($0["decision"] ?? "")" }
            #expect(subjects.contains("request GET /contacts/:contactId allow"), "\(subjects)")
            #expect(subjects.contains("request GET /locations/:locationId deny"), "\(subjects)")
            #expect(subjects.contains("mcp GET /contacts/:contactId allow"), "\(subjects)")
            #expect(subjects.contains("mcp tool search_operations allow"), "\(subjects)")
            #expect(subjects.contains("mcp tool drop_tables deny"), "\(subjects)")
            #expect(subjects.contains("admin token.refresh done"), "\(subjects)")
            #expect(subjects.contains("admin policy.reload accepted"), "\(subjects)")
            #expect(subjects.contains("admin install done"), "\(subjects)")
            let allowed = try #require(all.entries.first { $0["subject"] as? String == "GET /contacts/:contactId" })
            #expect(allowed["client"] as? String == "crm")
            #expect(allowed["location"] as? String == "locSim0001")
            #expect((allowed["keyPrefix"] as? String)?.count == 19)
            #expect((allowed["rule"] as? String)?.hasPrefix("scope contacts.readonly (") == true)
            #expect(allowed["upstreamStatus"] as? Int == 200)
            #expect((allowed["policyRevision"] as? String)?.count == 12)

            let text = try await harness.admin("GET", "/audit").body
            #expect(!text.contains(Self.crm.key))
            let stored = try #require(try await harness.gateway.vault.token(for: .location("locSim0001")))
            #expect(!text.contains(stored.accessToken.revealed))

            var chain = AuditChain()
            for entry in try await harness.gateway.vault.auditEntries(AuditQuery()) { try chain.check(entry) }
            #expect(chain.checked == all.entries.count)

            let denied = try await page(harness, "?decision=deny&client=crm")
            #expect(denied.entries.map { $0["subject"] as? String } == ["GET /locations/:locationId", "tool drop_tables"])
            let first = try await page(harness, "?limit=1")
            #expect(first.entries.count == 1)
            let second = try await page(harness, "?limit=1&after=\(try #require(first.next))")
            #expect(second.entries.first?["id"] as? Int != first.entries.first?["id"] as? Int)
            #expect(try await harness.admin("GET", "/audit?since=yesterday").status == 400)
            #expect(try await harness.admin("GET", "/audit", token: nil).status == 401)
        }
    }

    /// A key in its last week, and one past its expiry, are each kept once a day, not per request.
    @Test func aKeyUsedAfterItsExpiryWarningIsKeptOnceADay() async throws {
        let soon = TestClient("soon")
        let late = TestClient("late")
        func day(_ offset: Double) -> String { String(Date().addingTimeInterval(offset * 86_400).formatted(.iso8601).prefix(10)) }
        func policy(_ client: TestClient, expires: String) -> String {
            "client: \(client.name)\nkeys:\n  - key: \(KeyDigest(key: client.key))\n    expires: \(expires)\nlocations: [locSim0001]\nallow: [contacts.readonly]\n"
        }
        try await GatewayHarness.run(clients: ["soon": policy(soon, expires: day(2)), "late": policy(late, expires: day(-2))]) { harness in
            try await harness.install()
            for _ in 0..<3 {
                #expect(try await harness.proxy("GET", "/contacts/a1", key: soon.key).status == 200)
                #expect(try await harness.proxy("GET", "/contacts/a1", key: late.key).status == 401)
            }
            try await flush(harness, until: "key.expired_use")
            let admin = try await page(harness, "").entries.filter { $0["kind"] as? String == "admin" }
            let warned = admin.filter { $0["subject"] as? String == "key.warned_use" }
            let expired = admin.filter { $0["subject"] as? String == "key.expired_use" }
            #expect(warned.count == 1)
            #expect((warned.first?["detail"] as? String)?.hasPrefix("soon sha256:") == true, "\(warned)")
            #expect(expired.count == 1)
            #expect(expired.first?["decision"] as? String == "refused")
            #expect(!(try await harness.admin("GET", "/audit").body.contains(late.key)))
        }
    }

    @Test func refusalsOnlyKeepsNoAllowedCall() async throws {
        try await GatewayHarness.run(clients: ["crm": Self.crm.policy(allow: ["contacts.readonly"])], auditRecord: "refusals") { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a1", key: Self.crm.key).status == 200)
            #expect(try await harness.proxy("GET", "/locations/locSim0001", key: Self.crm.key).status == 403)
            try await flush(harness, until: "GET /locations/:locationId")
            let subjects = try await page(harness, "").entries.map { $0["subject"] as? String ?? "" }
            #expect(subjects.contains("GET /locations/:locationId"))
            #expect(!subjects.contains("GET /contacts/:contactId"))
            #expect(subjects.contains("install"))
        }
    }
}
