import Foundation
import Testing

@testable import GatewayPolicy
@testable import ScopeCatalog

@Suite("Catalog overrides file")
struct CatalogOverridesFileTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func shippedOverridesCorrectTheKnownRows() throws {
        let catalog = try CatalogLoader.load(
            tablePath: Self.root.appendingPathComponent(CatalogLoader.defaultTablePath).path,
            overridesPath: Self.root.appendingPathComponent(CatalogLoader.defaultOverridesPath).path,
            overridesRequired: true)
        #expect(catalog.routes.count == 313)
        #expect(catalog.scopes.count == 120)
        let expectations: [(RouteMethod, String, [String], [AccessType])] = [
            (.DELETE, "/funnels/lookup/redirect/r1", ["funnels/redirect.write"], [.subAccount]),
            (.PATCH, "/funnels/lookup/redirect/r1", ["funnels/redirect.write"], [.subAccount]),
            (.DELETE, "/medias/f1", ["medias.write"], [.subAccount]),
            (.DELETE, "/marketplace/billing/charges/c1", ["charges.write"], [.subAccount]),
        ]
        for (method, path, scopes, access) in expectations {
            let found = try #require(catalog.match(method: method, path: path))
            #expect(found.route.scopes == scopes, "\(method) \(path)")
            #expect(found.route.access == access, "\(method) \(path)")
        }
        #expect(catalog.routes.allSatisfy { !$0.access.isEmpty })
    }

    @Test func parsesBothActionsWithLines() {
        let parsed = CatalogOverridesFile.parse("""
            overrides:
              - correct: DELETE /medias/:fileId
                scopes: [medias.write]
                reason: wrong scope
              - add: GET /contacts/:contactId/tags
                scopes:
                  - contacts.readonly
                access: [Sub-Account]
            """, file: "o.yaml")
        #expect(parsed.problems.isEmpty)
        #expect(parsed.overrides.map(\.action) == [.correct, .add])
        #expect(parsed.overrides.map(\.location.line) == [2, 5])
        #expect(parsed.overrides[0].scopes == ["medias.write"])
        #expect(parsed.overrides[0].access == nil)
        #expect(parsed.overrides[0].reason == "wrong scope")
        #expect(parsed.overrides[1].access == [.subAccount])
        #expect(parsed.overrides[1].template.description == "/contacts/:contactId/tags")
    }

    @Test(arguments: [
        ("overrides:\n  - correct: DELETE /medias/:fileId\n    scope: [medias.write]\n", 3, "unknown field 'scope'"),
        ("overrides:\n  - correct: FETCH /medias/:fileId\n", 2, "is not 'METHOD /path'"),
        ("overrides:\n  - correct: DELETE medias\n", 2, "does not start with '/'"),
        ("overrides:\n  - scopes: [a]\n", 2, "exactly one of"),
        ("overrides:\n  - correct: GET /a\n    add: GET /b\n", 2, "exactly one of"),
        ("overrides:\n  - add: GET /a\n    access: [Galaxy]\n", 3, "unknown access type"),
        ("overrides: [\n", 2, "invalid YAML"),
        ("overrides: []\noverrides: []\n", 1, "duplicate key"),
        ("routes: []\n", 1, "unknown field 'routes'"),
    ])
    func problemsNameTheirLine(text: String, line: Int, message: String) {
        let parsed = CatalogOverridesFile.parse(text, file: "o.yaml")
        #expect(parsed.problems.count >= 1)
        let first = parsed.problems.first
        #expect(first?.location.line == line, "\(parsed.problems)")
        #expect(first?.message.contains(message) == true, "\(parsed.problems)")
        #expect(first?.kind == .invalidOverride && first?.severity == .error)
    }

    @Test func missingFilesAreClearErrors() {
        #expect {
            try CatalogLoader.load(tablePath: "/nonexistent/table.md")
        } throws: { error in
            "\(error)" == "cannot read /nonexistent/table.md: no such file"
        }
        #expect {
            try CatalogLoader.load(
                tablePath: Self.root.appendingPathComponent(CatalogLoader.defaultTablePath).path,
                overridesPath: "/nonexistent/o.yaml", overridesRequired: true)
        } throws: { error in
            "\(error)" == "cannot read /nonexistent/o.yaml: no such file"
        }
    }

    @Test func invalidOverridesRejectTheCatalog() {
        let table = "| Scope | API Endpoints | Webhook Events | Access Type |\n| --- | --- | --- | --- |\n| a.readonly | GET /a |  | Sub-Account |\n"
        #expect {
            try CatalogLoader.compile(CatalogLoader.Sources(
                table: ("t.md", table), overrides: ("o.yaml", "overrides:\n  - correct: GET /b\n    scopes: [a.readonly]\n")))
        } throws: { error in
            guard case .invalid(let failure) = error as? CatalogLoader.LoadError else { return false }
            return failure.errors.map(\.description) == [
                "o.yaml:2: invalid_override: GET /b: no such route in the catalog; use 'add' for a new route"
            ]
        }
    }
}
