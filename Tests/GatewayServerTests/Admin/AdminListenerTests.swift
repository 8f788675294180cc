import Foundation
import GatewayTestSupport
import HighLevelSimulator
import Testing
import TokenVault
import Yams

@testable import GatewayRuntime

@Suite("Admin listener")
struct AdminListenerTests {
    static let client = TestClient("svc")
    static let clients = ["svc": client.policy(locations: ["*"], allow: ["contacts.readonly"])]

    private func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func livenessAndReadiness() async throws {
        // No grace for a database outage here (the trade-off's other side is in ReplicaTests).
        try await GatewayHarness.run(clients: Self.clients, extraConfiguration: "readiness_database_grace_seconds: 0") { harness in
            let live = try await harness.admin("GET", "/healthz", token: nil)
            #expect(live.status == 200)
            #expect(live.body == "ok\n")
            let ready = try await harness.admin("GET", "/readyz", token: nil)
            #expect(ready.status == 200)
            let body = try object(ready.body)
            #expect(body["status"] as? String == "ready")
            let checks = try #require(body["checks"] as? [String: [String: Any]])
            #expect(Set(checks.keys) == ["database", "policies", "catalog", "listeners", "replicas"])
            #expect(checks["replicas"]?["live"] as? Int == 1)
            #expect(checks.values.allSatisfy { $0["ok"] as? Bool == true })

            // A rejected edit shows, with its first errors, while the last valid set keeps the gateway ready.
            try await harness.reloadingPolicies {
                harness.writeClient("svc", "client: svc\nkey: nope\n")
            }
            let edited = try await harness.admin("GET", "/readyz", token: nil)
            #expect(edited.status == 200)
            #expect(edited.body.contains("svc.yaml:2: key must be 'sha256:' followed by 64 hex digits"))

            // The database going away makes the gateway not ready, naming the check.
            try await harness.gateway.vault.close()
            let closed = try await harness.admin("GET", "/readyz", token: nil)
            #expect(closed.status == 503)
            let failed = try #require(try object(closed.body)["checks"] as? [String: [String: Any]])
            #expect(failed["database"]?["ok"] as? Bool == false)
        }
    }

    @Test func notReadyWithoutAValidPolicySet() async throws {
        try await GatewayHarness.run(clients: ["bad": "client: bad\nkey: nope\n"]) { harness in
            let ready = try await harness.admin("GET", "/readyz", token: nil)
            #expect(ready.status == 503)
            let checks = try #require(try object(ready.body)["checks"] as? [String: [String: Any]])
            #expect(checks["policies"]?["ok"] as? Bool == false)
            #expect((checks["policies"]?["rejectedEdit"] as? [String])?.first?.contains("bad.yaml:2") == true)
        }
    }

    @Test func tokenHealthNeedsTheAdminTokenAndNeverShowsATokenValue() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a?locationId=locSim0001", key: Self.client.key).status == 200)
            for token in [nil, "wrong", GatewayHarness.adminToken + "x", Self.client.key] as [String?] {
                #expect(try await harness.admin("GET", "/health/tokens", token: token).status == 401)
            }
            let health = try await harness.admin("GET", "/health/tokens")
            #expect(health.status == 200)
            let body = try object(health.body)
            #expect(body["status"] as? String == "ok")
            let summary = try #require(body["summary"] as? [String: Int])
            #expect(summary == ["total": 2, "healthy": 2, "expiring": 0, "refresh_failing": 0, "needs_reinstall": 0, "revoked": 0])
            let tokens = try #require(body["tokens"] as? [[String: Any]])
            let location = try #require(tokens.first { $0["locationId"] as? String == "locSim0001" })
            #expect(location["kind"] as? String == "location")
            #expect(location["companyId"] as? String == "cmpSim0001")
            #expect((location["expiresInSeconds"] as? Int ?? 0) > 80_000)
            #expect(location["lastRefreshAt"] is String)
            #expect(location["consecutiveFailures"] as? Int == 0)
            // A location has a second copy (its company's token); the company has none.
            #expect(location["recovery"] as? String == "exchange")
            #expect(tokens.first { $0["kind"] as? String == "company" }?["recovery"] as? String == "reinstall")
            for secret in await harness.simulator.state.everyIssuedToken { #expect(!health.body.contains(secret)) }

            let filtered = try object(try await harness.admin("GET", "/health/tokens?location=locSim0001").body)
            #expect((filtered["tokens"] as? [Any])?.count == 1)
            let none = try object(try await harness.admin("GET", "/health/tokens?status=expiring").body)
            #expect((none["tokens"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func tokenHealthStatesFollowTheTokens() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            // Expiring soon, with the refresher backing off past the expiry: degraded.
            let soon = Date().addingTimeInterval(120).timeIntervalSince1970
            try harness.database().execute("UPDATE tokens SET expires_at = \(soon), next_attempt_at = \(soon + 60)")
            let degraded = try object(try await harness.admin("GET", "/health/tokens").body)
            #expect(degraded["status"] as? String == "degraded")
            #expect((degraded["summary"] as? [String: Int])?["expiring"] == 1)

            await harness.simulator.state.failNextRefreshes(1, with: .invalidGrant)
            try harness.database().execute("UPDATE tokens SET next_attempt_at = NULL")
            let refresh = try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(refresh.status == 403)
            #expect(refresh.body.contains("\"code\":\"not_installed\""))
            let failing = try object(try await harness.admin("GET", "/health/tokens").body)
            #expect(failing["status"] as? String == "failing")
            #expect((failing["summary"] as? [String: Int])?["needs_reinstall"] == 1)
        }
    }

    @Test func tokenAdminRefreshesAndRevokes() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001", token: nil).status == 401)
            #expect(try await harness.admin("POST", "/tokens/refresh").status == 400)
            #expect(try await harness.admin("POST", "/tokens/refresh?company=a&location=b").status == 400)
            let refreshed = try await harness.admin("POST", "/tokens/refresh?company=cmpSim0001")
            #expect(refreshed.status == 200)
            #expect(refreshed.body.contains("\"owner\":\"company:cmpSim0001\",\"version\":\"2\""))
            #expect(await harness.simulator.state.refreshes == 1)

            #expect(try await harness.proxy("GET", "/contacts/a?locationId=locSim0001", key: Self.client.key).status == 200)
            let revoked = try await harness.admin("DELETE", "/tokens?location=locSim0001")
            #expect(revoked.status == 200)
            #expect(revoked.body == #"{"revoked":"location:locSim0001"}"#)
            #expect(try await harness.gateway.vault.token(for: .location("locSim0001")) == nil)
            let denied = try await harness.proxy("GET", "/contacts/a?locationId=locSim0001", key: Self.client.key)
            #expect(denied.status == 403)
            let health = try object(try await harness.admin("GET", "/health/tokens?status=revoked").body)
            #expect((health["tokens"] as? [[String: Any]])?.first?["locationId"] as? String == "locSim0001")
            #expect(try await harness.admin("DELETE", "/tokens?location=nowhere").status == 403)
        }
    }

    @Test func metricsCoverRequestsRenewalsReloadsAndTokens() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a?locationId=locSim0001", key: Self.client.key).status == 200)
            #expect(try await harness.proxy("GET", "/invoices/a?locationId=locSim0001", key: Self.client.key).status == 403)
            try await harness.reloadingPolicies {
                harness.writeClient("svc", Self.client.policy(locations: ["*"], allow: ["contacts.readonly", "contacts.write"]))
            }
            let metrics = try await harness.admin("GET", "/metrics", token: nil)
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            for line in [
                #"ghl_gateway_requests_total{client="svc",template="/contacts/:contactId",decision="allow",status="200",origin="highlevel"} 1"#,
                #"ghl_gateway_requests_total{client="svc",template="/invoices/:invoiceId",decision="deny",status="403",origin="gateway"} 1"#,
                #"ghl_gateway_token_renewals_total{kind="exchange",outcome="success"} 1"#,
                #"ghl_gateway_policy_reloads_total{outcome="applied"} 1"#,
                #"ghl_gateway_tokens{status="healthy"} 2.0"#,
                "ghl_gateway_upstream_duration_seconds_count 1",
                #"ghl_gateway_build_info{version="\#(GatewayVersion.current)"} 1"#,
            ] {
                #expect(metrics.body.contains(line), "missing \(line)")
            }
            for secret in await harness.simulator.state.everyIssuedToken { #expect(!metrics.body.contains(secret)) }
            // Every family says what it is; the process and the policies are there too.
            let lines = metrics.body.split(separator: "\n")
            for family in lines.filter({ $0.hasPrefix("# TYPE ") }).compactMap({ $0.split(separator: " ").dropFirst(2).first }) {
                #expect(lines.contains { $0.hasPrefix("# HELP \(family) ") }, "no HELP for \(family)")
            }
            for line in ["ghl_gateway_policy_valid 1", "ghl_gateway_replicas_live 1", "process_resident_memory_bytes ", "process_open_fds "] {
                #expect(metrics.body.contains(line), "missing \(line)")
            }
        }
    }

    /// The shipped alert rules and dashboard name only metric families the gateway exports (each
    /// has its `# HELP` text; the test above checks that every exported family has one).
    @Test func theAlertRulesAndTheDashboardUseMetricsThatExist() throws {
        let exported = Set(GatewayMetrics.help.keys)
        let deploy = GatewayHarness.repositoryRoot + "/deploy/"
        let rules = try #require(try Yams.load(yaml: String(contentsOfFile: deploy + "prometheus/alerts.yaml", encoding: .utf8)) as? [String: Any])
        let group = try #require((rules["groups"] as? [[String: Any]])?.first?["rules"] as? [[String: Any]])
        var expressions = group.compactMap { $0["expr"] as? String }
        #expect(expressions.count == group.count && group.allSatisfy { $0["alert"] is String && $0["for"] is String })
        let dashboard = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: deploy + "grafana/ghl-gateway.json"))) as? [String: Any])
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            expressions += (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        #expect(expressions.count > 20)
        let name = try Regex(#"(ghl_gateway|process)_[a-z_]+"#)
        for expression in expressions {
            #expect(expression.filter { $0 == "(" }.count == expression.filter { $0 == ")" }.count, "\(expression)")
            for match in expression.matches(of: name) {
                var family = String(expression[match.range])
                for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) && !exported.contains(family) {
                    family = String(family.dropLast(suffix.count))
                }
                #expect(exported.contains(family), "\(family) (in \(expression)) is not exported")
            }
        }
    }
}
