import Foundation
import GatewayTestSupport
import Testing

@Suite("Policy hot reload")
struct PolicyReloadTests {
    @Test func aValidEditTakesEffectWithoutARestart() async throws {
        let first = TestClient("first")
        let second = TestClient("second")
        try await GatewayHarness.run(clients: ["first": first.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/a", key: first.key).status == 200)
            #expect(try await harness.proxy("GET", "/contacts/a", key: second.key).status == 401)

            let store = harness.gateway.policies
            try await harness.reloadingPolicies {
                harness.writeClient("second", second.policy(allow: ["contacts.readonly"]))
                harness.writeClient("first", first.policy(allow: ["contacts.write"]))
            }

            #expect(store.status.rejectedIssues.isEmpty)
            #expect(try await harness.proxy("GET", "/contacts/a", key: second.key).status == 200)
            let narrowed = try await harness.proxy("GET", "/contacts/a", key: first.key)
            #expect(narrowed.status == 403)
        }
    }

    @Test func anInvalidEditKeepsTheLastValidSetServing() async throws {
        let client = TestClient("svc")
        try await GatewayHarness.run(clients: ["svc": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let store = harness.gateway.policies
            try await harness.reloadingPolicies {
                harness.writeClient("svc", client.policy(allow: ["contacts.readonly", "no.such.scope"]))
            }

            let issues = store.status.rejectedIssues
            #expect(issues.count == 1)
            #expect(issues.first?.hasSuffix("svc.yaml:5: unknown scope 'no.such.scope'") == true, "\(issues)")
            #expect(store.status.reloads["rejected"] == 1)
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
            #expect(harness.logs.text.contains("policy edit rejected"))

            // Fixing the file clears the problem.
            try await harness.reloadingPolicies {
                harness.writeClient("svc", client.policy(allow: ["contacts.write"]))
            }
            #expect(store.status.rejectedIssues.isEmpty)
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 403)
        }
    }

    @Test func aBrokenCatalogEditIsRejectedToo() async throws {
        let client = TestClient("svc")
        try await GatewayHarness.run(clients: ["svc": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let store = harness.gateway.policies
            try await harness.reloadingPolicies {
                harness.directory.write("policies/catalog-overrides.yaml", "overrides:\n  - correct: GET /nope\n    scopes: [contacts.readonly]\n")
            }
            #expect(store.status.rejectedIssues.first?.contains("catalog-overrides.yaml:2: invalid_override") == true)
            #expect(try await harness.proxy("GET", "/contacts/a", key: client.key).status == 200)
        }
    }

    @Test func reloadIsAtomicForConcurrentRequests() async throws {
        let client = TestClient("svc")
        try await GatewayHarness.run(clients: ["svc": client.policy(allow: ["contacts.readonly"])]) { harness in
            try await harness.install()
            let store = harness.gateway.policies
            // Alternate two valid sets while requests run: each request sees one set or the other.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    for round in 0..<20 {
                        harness.writeClient("svc", client.policy(allow: [round % 2 == 0 ? "contacts.write" : "contacts.readonly"]))
                        store.reload()
                    }
                    return 0
                }
                for index in 0..<60 {
                    group.addTask { try await harness.proxy("GET", "/contacts/c\(index)", key: client.key).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { [0, 200, 403].contains($0) })
            #expect(store.status.reloads["rejected"] == nil)
        }
    }
}
