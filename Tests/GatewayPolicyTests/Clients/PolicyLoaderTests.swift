import Foundation
import Testing

@testable import GatewayPolicy
@testable import ScopeCatalog

@Suite("Client policies")
struct PolicyLoaderTests {
    static let catalog = try! CatalogLoader.load(
        tablePath: CatalogOverridesFileTests.root.appendingPathComponent(CatalogLoader.defaultTablePath).path,
        overridesPath: CatalogOverridesFileTests.root.appendingPathComponent(CatalogLoader.defaultOverridesPath).path)
    static let keyA = KeyDigest(key: "ghlgw_a").description
    static let keyB = KeyDigest(key: "ghlgw_b").description

    private func load(_ files: [(String, String)]) throws(PolicyRejection) -> PolicySet {
        try PolicyLoader.parse(files.map { (path: $0.0, text: $0.1) }, catalog: Self.catalog)
    }

    private func issues(_ files: [(String, String)]) -> [String] {
        do {
            _ = try load(files)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func aValidPolicyLoads() throws {
        let set = try load([
            (
                "billing.yaml",
                """
                client: billing-service
                description: pays invoices
                key: \(Self.keyA)
                locations: [ve9EPM428h8vShlRW1KT]
                companies: []
                allow:
                  - invoices.readonly
                  - invoices.write
                  - GET /contacts/:contactId
                deny:
                  - DELETE /invoices/:invoiceId
                rate_limit: 50/10s
                """
            )
        ])
        let client = try #require(set.clients["billing-service"])
        #expect(client.allow.count == 3)
        #expect(client.deny.count == 1)
        #expect(client.rateLimit == RateLimit(requests: 50, periodSeconds: 10))
        #expect(client.locations == .only(["ve9EPM428h8vShlRW1KT"]))
        #expect(client.locations.single == "ve9EPM428h8vShlRW1KT")
        #expect(set.caller(presenting: "ghlgw_a")?.client.name == "billing-service")
        #expect(set.caller(presenting: "ghlgw_b") == nil)
    }

    @Test func aClientMayHoldSeveralKeysEachWithAnExpiry() throws {
        let set = try load([
            (
                "billing.yaml",
                """
                client: billing
                keys:
                  - key: \(Self.keyA)
                    expires: 2026-12-31
                  - \(Self.keyB)
                """
            )
        ])
        let old = try #require(set.caller(presenting: "ghlgw_a"))
        let new = try #require(set.caller(presenting: "ghlgw_b"))
        #expect(old.client.name == "billing" && new.client.name == "billing")
        let endOfDay = try Date("2027-01-01T00:00:00Z", strategy: .iso8601)
        #expect(old.key.expires == endOfDay)
        #expect(!old.key.isExpired(at: endOfDay.addingTimeInterval(-1)))
        #expect(old.key.isExpired(at: endOfDay))
        #expect(new.key.expires == nil)
        #expect(old.key.shortDigest == String(Self.keyA.prefix(19)))
    }

    @Test func keysAreCheckedWithTheirLines() {
        let found = issues([
            ("a.yaml", "client: a\nkey: \(Self.keyA)\nkeys: [\(Self.keyB)]\n"),
            ("b.yaml", "client: b\nkeys:\n  - key: \(Self.keyB)\n    expires: soon\n"),
            ("c.yaml", "client: c\n"),
            ("d.yaml", "client: d\nkeys: []\n"),
            ("e.yaml", "client: e\nkeys:\n  - ghlgw_oops\n"),
            ("f.yaml", "client: f\nkeys:\n  - \(Self.keyA)\n"),
            ("g.yaml", "client: g\nkeys:\n  - \(Self.keyA)\n"),
        ])
        #expect(found.contains { $0.hasPrefix("a.yaml:3:") && $0.contains("cannot both") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("b.yaml:4:") && $0.contains("not a date") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("c.yaml:1:") && $0.contains("needs 'key'") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("d.yaml:2:") && $0.contains("list") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("e.yaml:3:") && $0.contains("looks like a key itself") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("g.yaml:1:") && $0.contains("already used") }, "\(found)")
    }

    @Test func aReloadKeepsEachKeysLastUse() throws {
        let first = try load([("a.yaml", "client: a\nkey: \(Self.keyA)\n")])
        let used = Date(timeIntervalSince1970: 1_800_000_000)
        first.caller(presenting: "ghlgw_a")?.key.usage.record(used)
        let edited = try load([("a.yaml", "client: a\nkeys: [\(Self.keyA), \(Self.keyB)]\n")])
        let reloaded = PolicySet(clients: Array(edited.clients.values), carryingUsageFrom: first)
        #expect(reloaded.caller(presenting: "ghlgw_a")?.key.usage.lastUsed == used)
        #expect(reloaded.caller(presenting: "ghlgw_b")?.key.usage.lastUsed == nil)
        #expect(edited.caller(presenting: "ghlgw_a")?.key.usage.lastUsed == nil)
    }

    @Test func everyProblemNamesItsFileAndLine() {
        let found = issues([
            (
                "a.yaml",
                """
                client: a
                key: \(Self.keyA)
                allow: [contacts.readonly, no.such.scope, GET /no/such/route, FETCH /contacts/:contactId]
                rate_limit: lots
                colour: blue
                """
            ),
            ("b.yaml", "client: a\nkey: \(Self.keyA)\n"),
            ("c.yaml", "client: c\nkey: sha256:1234\n"),
            ("d.yaml", "client: d\nkey: ghlgw_pasted-raw-key-value\n"),
            ("e.yaml", "client: [broken\n"),
            ("f.yaml", "client: f\nkey: \(Self.keyB)\nkey: \(Self.keyB)\n"),
            ("g.yaml", "key: \(Self.keyB)\n"),
            ("h.yaml", "client: h\nkey: \(Self.keyB)\nlocations: [\"*\", abc]\n"),
            ("i.yaml", "  \n"),
            ("j.yaml", "# client: disabled\n"),
        ])
        let expected = [
            "a.yaml:4: rate_limit 'lots' is not N/PERIOD such as 50/10s, 600/1m or 10000/1h",
            "a.yaml:5: unknown field 'colour'",
            "a.yaml:3: unknown scope 'no.such.scope'",
            "a.yaml:3: unknown route template 'GET /no/such/route'",
            "a.yaml:3: unknown route template 'FETCH /contacts/:contactId'",
            "b.yaml:1: client 'a' is already defined at a.yaml:1",
            "b.yaml:1: the key hash \(Self.keyA.prefix(19))… is already used at a.yaml:1",
            "c.yaml:2: key must be 'sha256:' followed by 64 hex digits",
            "d.yaml:2: this looks like a key itself",
            "e.yaml:",
            "f.yaml:2: duplicate key(s) key",
            "g.yaml:1: a client policy is missing 'client'",
            "h.yaml:3: 'locations' is either [\"*\"] or a list of ids, not both",
            "i.yaml:1: the file is empty",
            "j.yaml:1: the file holds no YAML document",
        ]
        for prefix in expected {
            #expect(found.contains { $0.hasPrefix(prefix) }, "missing \(prefix) in \(found)")
        }
        #expect(!found.joined().contains("pasted-raw-key-value"))
    }

    @Test func decisionsCarryTheirReasons() throws {
        let set = try load([
            (
                "p.yaml",
                """
                client: p
                key: \(Self.keyA)
                locations: [loc1]
                companies: ["*"]
                allow: [contacts.readonly, contacts.write, GET /invoices/:invoiceId]
                deny: [DELETE /contacts/:contactId, locations.readonly]
                """
            )
        ])
        let client = try #require(set.clients["p"])
        func route(_ method: RouteMethod, _ path: String) throws -> CatalogRoute {
            try #require(Self.catalog.match(method: method, path: path)).route
        }
        let allowed = client.decide(try route(.GET, "/contacts/c1"), target: RequestTarget(location: "loc1"))
        #expect(allowed.allowed)
        #expect(allowed.description == "allow: GET /contacts/:contactId is allowed by scope contacts.readonly (p.yaml:5)")
        let byTemplate = client.decide(try route(.GET, "/invoices/i1"), target: RequestTarget(location: "loc1"))
        #expect(byTemplate.reason == "GET /invoices/:invoiceId is allowed by route GET /invoices/:invoiceId")
        let denied = client.decide(try route(.DELETE, "/contacts/c1"), target: RequestTarget(location: "loc1"))
        #expect(denied.description == "deny: DELETE /contacts/:contactId is denied by route DELETE /contacts/:contactId (p.yaml:6)")
        let uncovered = client.decide(try route(.GET, "/invoices"), target: RequestTarget(location: "loc1"))
        #expect(uncovered.reason == "no allow rule of p covers GET /invoices (grant one of: invoices.readonly)")
        let wrongLocation = client.decide(try route(.GET, "/contacts/c1"), target: RequestTarget(location: "loc2"))
        #expect(wrongLocation.reason == "location loc2 is not in the locations of p")
        #expect(client.decide(try route(.GET, "/contacts/c1"), target: RequestTarget(location: "loc1", company: "any")).allowed)
        let deniedScope = client.decide(try route(.GET, "/locations/search"), target: RequestTarget(location: "loc1"))
        #expect(deniedScope.reason == "GET /locations/search is denied by scope locations.readonly")
    }

    @Test func anUpstreamShareIsAPositiveWeight() throws {
        let policy = { (share: String) in "client: a\nkey: \(Self.keyA)\nallow: [contacts.readonly]\nupstream_share: \(share)\n" }
        #expect(try load([("a.yaml", policy("2"))]).clients["a"]?.upstreamShare == 2)
        #expect(try load([("a.yaml", policy("0.5"))]).clients["a"]?.upstreamShare == 0.5)
        #expect(try load([("a.yaml", "client: a\nkey: \(Self.keyA)\nallow: [contacts.readonly]\n")]).clients["a"]?.upstreamShare == 1)
        for bad in ["0", "-1", "lots"] {
            #expect(
                issues([("a.yaml", policy(bad))]) == [
                    "a.yaml:4: upstream_share '\(bad)' is not a weight above 0 (1 is the default; 2 gets twice a 1's share)"
                ])
        }
    }

    @Test func anMCPSectionSaysWhatAgentsMustConfirm() throws {
        func route(_ method: RouteMethod, _ path: String) throws -> CatalogRoute {
            try #require(Self.catalog.match(method: method, path: path)).route
        }
        let policy = { (mcp: String) in "client: a\nkey: \(Self.keyA)\nallow: [contacts.readonly, contacts.write]\nmcp:\n\(mcp)" }
        let marked = try #require(try load([("a.yaml", policy("  destructive: [contacts.write, GET /contacts/:contactId/tasks]\n"))]).clients["a"])
        #expect(marked.agents.confirm)
        #expect(marked.agents.needsConfirmation(try route(.POST, "/contacts/")))
        #expect(marked.agents.needsConfirmation(try route(.GET, "/contacts/c1/tasks")))
        #expect(!marked.agents.needsConfirmation(try route(.GET, "/contacts/c1")))
        let plain = try #require(try load([("a.yaml", "client: a\nkey: \(Self.keyA)\nallow: [contacts.readonly]\n")]).clients["a"])
        #expect(plain.agents.needsConfirmation(try route(.DELETE, "/contacts/c1")))
        #expect(!plain.agents.needsConfirmation(try route(.POST, "/contacts/")))
        let optedOut = try #require(try load([("a.yaml", policy("  confirm: false\n"))]).clients["a"])
        #expect(!optedOut.agents.needsConfirmation(try route(.DELETE, "/contacts/c1")))
        #expect(issues([("a.yaml", policy("  confirm: maybe\n"))]) == ["a.yaml:5: mcp.confirm is true or false"])
        #expect(issues([("a.yaml", policy("  destructive: [GET /nowhere]\n"))]) == ["a.yaml:5: unknown route template 'GET /nowhere'"])
        #expect(issues([("a.yaml", policy("  destroy: [contacts.write]\n"))]).count == 1)
    }

    @Test func rateLimitsParse() {
        #expect(RateLimit(parsing: "50/10s") == RateLimit(requests: 50, periodSeconds: 10))
        #expect(RateLimit(parsing: "600/1m") == RateLimit(requests: 600, periodSeconds: 60))
        #expect(RateLimit(parsing: "5/m") == RateLimit(requests: 5, periodSeconds: 60))
        #expect(RateLimit(parsing: "10000/2h") == RateLimit(requests: 10_000, periodSeconds: 7_200))
        for bad in ["0/10s", "-1/10s", "10/0s", "10", "10/10", "ten/10s", "10/10d", "10/10s/1"] {
            #expect(RateLimit(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func keyDigestsCompareAndPrint() throws {
        let digest = KeyDigest(key: "ghlgw_example")
        let parsed = try #require(KeyDigest(policyValue: digest.description))
        #expect(parsed.matches(digest))
        #expect(!parsed.matches(KeyDigest(key: "ghlgw_other")))
        #expect(KeyDigest(policyValue: digest.description.uppercased().replacingOccurrences(of: "SHA256", with: "sha256"))?.matches(digest) == true)
        let key = KeyDigest.generateKey()
        #expect(key.hasPrefix("ghlgw_"))
        #expect(key.count == 6 + 43)
        #expect(KeyDigest.generateKey() != key)
    }
}
