import Foundation
import HighLevelSimulator
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

    /// Every event HighLevel documents is known to the shipped catalog, each entitled by a scope of
    /// the scopes table (so the table alone, without the OpenAPI specs, is enough), or an app event.
    @Test func theShippedCatalogKnowsEveryEventHighLevelSends() throws {
        let catalog = try CatalogLoader.load(
            tablePath: Self.root.appendingPathComponent(CatalogLoader.defaultTablePath).path,
            overridesPath: Self.root.appendingPathComponent(CatalogLoader.defaultOverridesPath).path,
            overridesRequired: true)
        #expect(HighLevelWebhookEvents.all.count == 77 && Set(HighLevelWebhookEvents.all).count == 77)
        for event in HighLevelWebhookEvents.all {
            let scopes = catalog.events[event] ?? []
            #expect(PolicyLoader.lifecycleEvents.contains(event) != !scopes.isEmpty, "\(event): \(scopes)")
            #expect(scopes.allSatisfy(catalog.scopes.contains), "\(event): \(scopes)")
        }
        #expect(catalog.events["AppointmentCreate"] == ["calendars/events.readonly"])
        #expect(catalog.events["ContactCreate"] == ["contacts.readonly"], "the table's own events stay")
    }

    @Test func eventEntriesAddOrCorrectAnEventAndAreChecked() throws {
        let table = (
            path: "t.md",
            text: """
            | Scope | API Endpoints | Webhook Events | Access Type |
            | --- | --- | --- | --- |
            | contacts.readonly | GET /contacts/:contactId | ContactCreate | Sub-Account |
            | calendars.readonly | GET /calendars/:calendarId | | Sub-Account |
            """
        )
        func compile(_ events: String) throws(CatalogLoader.LoadError) -> CompiledCatalog {
            try CatalogLoader.compile(.init(table: table, overrides: (path: "o.yaml", text: "events:\n" + events)))
        }
        let catalog = try compile(
            """
              - event: AppointmentCreate
                scopes: [calendars.readonly]
                reason: chosen
              - event: ContactCreate
                scopes: [calendars.readonly, contacts.readonly]
            """)
        #expect(catalog.events["AppointmentCreate"] == ["calendars.readonly"])
        #expect(catalog.events["ContactCreate"] == ["calendars.readonly", "contacts.readonly"])
        for (entry, problem) in [
            ("  - event: X\n    scopes: [nope.readonly]\n", "o.yaml:2: invalid_override: event X: unknown scope(s) nope.readonly"),
            ("  - event: X\n    scopes: [contacts.readonly]\n  - event: X\n    scopes: [contacts.readonly]\n", "event X: already given at line 2"),
            ("  - event: X\n", "event X: needs 'scopes: [scope, ...]'"),
        ] {
            do {
                _ = try compile(entry)
                Issue.record("accepted \(entry)")
            } catch {
                #expect("\(error)".contains(problem), "\(error)")
            }
        }
    }

    @Test func parsesBothActionsWithLines() {
        let parsed = CatalogOverridesFile.parse(
            """
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
            try CatalogLoader.compile(
                CatalogLoader.Sources(
                    table: ("t.md", table), overrides: ("o.yaml", "overrides:\n  - correct: GET /b\n    scopes: [a.readonly]\n")))
        } throws: { error in
            guard case .invalid(let failure) = error as? CatalogLoader.LoadError else { return false }
            return failure.errors.map(\.description) == [
                "o.yaml:2: invalid_override: GET /b: no such route in the catalog; use 'add' for a new route"
            ]
        }
    }
}
