import Testing

@testable import ScopeCatalog

/// The table and the OpenAPI specs compiled together: union, cross-checks, preference, fail-closed.
@Suite("Catalog from two sources")
struct CatalogCrossCheckTests {
    static let table = ScopeTable(
        parsing: """
            | Scope | API Endpoints | Webhook Events | Access Type |
            | --- | --- | --- | --- |
            | contacts.readonly | GET /contacts/:contactId |  | Sub-Account |
            | contacts.write | DELETE /contacts/:id |  | Sub-Account |
            | invoices.readonly | GET /invoices |  | Sub-Account |
            | locations.readonly | GET /locations/:id |  | Agency |
            | search.readonly | POST /search |  | Sub-Account |
            | oauth.readonly | GET /oauth/installedLocations |  | Agency |
            | table.readonly | GET /only/table |  | Sub-Account |
            """, file: "t.md")

    static let spec = OpenAPISpec(
        parsing: Array(
            """
            {"paths": {
              "/contacts/{contactId}": {
                "get": {"security": [{"bearer": ["contacts.readonly"]}]},
                "delete": {"security": [{"Location-Access": ["contacts.remove"]}]}
              },
              "/invoices": {"get": {"security": [{"Location-Access": ["invoices.readonly"]}, {"Agency-Access": ["invoices.readonly"]}]}},
              "/locations/{locationId}": {"get": {"security": [{"Agency-Access": ["locations.readonly"]}]}},
              "/search": {"post": {"security": [{"Location-Access": ["search.readonly"]}]}},
              "/oauth/installedLocations": {"get": {"security": [{"Agency-Access-Only": ["oauth.readonly"]}]}},
              "/only/spec/{locationId}": {"get": {"security": [{"bearer": ["spec.readonly"]}]}},
              "/unscoped/{id}": {"get": {}},
              "/unscoped-write": {"post": {"security": [{"Location-Access": ["wrong.readonly"]}]}}
            }}
            """.utf8), file: "s.json")

    static func compile(
        prefer: CatalogSource.Preference = .table, specs: [OpenAPISpec] = [spec], overrides: [CatalogOverride] = []
    ) throws -> CompiledCatalog {
        try CompiledCatalog(table: table, specs: specs, overrides: overrides, prefer: prefer)
    }

    static func override(
        _ action: CatalogOverride.Action, _ method: RouteMethod, _ template: String, scopes: [String]? = nil, access: [AccessType]? = nil
    ) -> CatalogOverride {
        CatalogOverride(
            action: action, method: method, template: try! RouteTemplate(template), scopes: scopes, access: access,
            location: SourceLocation(file: "o.yaml", line: 3))
    }

    @Test func theCatalogIsTheUnionWithEachRoutesSources() throws {
        let catalog = try Self.compile()
        let sources = Dictionary(uniqueKeysWithValues: catalog.routes.map { ("\($0.method.rawValue) \($0.template.shape)", $0.sources) })
        #expect(sources["GET /contacts/:"] == [.table, .openapi])
        #expect(sources["GET /only/table"] == [.table])
        #expect(sources["GET /only/spec/:"] == [.openapi])
        #expect(catalog.match(method: .GET, path: "/only/spec/L1")?.route.access == [.subAccount, .agency])
        let summary = catalog.summary
        #expect(summary.table == CatalogSummary.Source(routes: 7, scopes: 7))
        #expect(summary.openapi == CatalogSummary.Source(routes: 9, scopes: 8))
        #expect((summary.inBoth, summary.onlyInTable, summary.onlyInOpenAPI) == (6, 1, 3))
        #expect((summary.routable, summary.unroutable) == (9, 1))
        #expect(catalog.scopes.contains("contacts.remove") && catalog.scopes.contains("table.readonly"))
        #expect(
            catalog.routes.first { $0.template.description == "/contacts/:contactId" && $0.method == .GET }?.definedAt.map(\.description)
                == ["t.md:3", "s.json:3"])
    }

    @Test func eachDisagreementNamesBothSourcesAndTheChoice() throws {
        let catalog = try Self.compile()
        let found = catalog.disagreements.map { "\($0.kind.rawValue) \($0.method.rawValue) \($0.template) \($0.tableAt) \($0.openapiAt)" }
        #expect(
            found.sorted() == [
                "access_types_differ GET /invoices [t.md:5] [s.json:6]",
                "scopes_differ DELETE /contacts/:id [t.md:4] [s.json:4]",
                "write_under_readonly_scope POST /search [t.md:7] [s.json:8]",
            ])
        let scopes = try #require(catalog.disagreements.first { $0.kind == .scopesDiffer })
        #expect(
            scopes.description
                == #"DELETE /contacts/:id: scopes_differ: table says ["contacts.write"] (t.md:4); openapi says ["contacts.remove"] (s.json:4); using ["contacts.write"] (catalog.prefer: table)"#
        )
        #expect(catalog.diagnostics.filter { $0.kind == .sourcesDisagree }.count == 3)
        #expect(
            catalog.diagnostics.contains { $0.kind == .sourcesDisagree && $0.location.description == "t.md:4" && $0.message.contains("s.json:4") })
        // Agreeing routes, bearer (any kind) and a -Only refinement of the same kind are not disagreements.
        #expect(catalog.match(method: .GET, path: "/oauth/installedLocations")?.route.access == [.agencyOnly])
        #expect(catalog.match(method: .GET, path: "/contacts/c1")?.route.access == [.subAccount])
    }

    @Test func preferDecidesEachDisagreementBothWays() throws {
        let table = try Self.compile(prefer: .table)
        let openapi = try Self.compile(prefer: .openapi)
        #expect(table.match(method: .DELETE, path: "/contacts/c1")?.route.scopes == ["contacts.write"])
        #expect(openapi.match(method: .DELETE, path: "/contacts/c1")?.route.scopes == ["contacts.remove"])
        #expect(table.match(method: .GET, path: "/invoices")?.route.access == [.subAccount])
        #expect(openapi.match(method: .GET, path: "/invoices")?.route.access == [.subAccount, .agency])
        #expect(
            openapi.disagreements.first { $0.kind == .accessTypesDiffer }?.resolution
                == #"using ["Sub-Account", "Agency"] (catalog.prefer: openapi)"#)
    }

    @Test func overridesWinOverBothSources() throws {
        let catalog = try Self.compile(
            prefer: .openapi,
            overrides: [
                Self.override(.correct, .DELETE, "/contacts/:contactId", scopes: ["contacts.write"]),
                Self.override(.correct, .GET, "/invoices", access: [.agency]),
            ])
        let delete = try #require(catalog.match(method: .DELETE, path: "/contacts/c1")?.route)
        #expect(delete.scopes == ["contacts.write"])
        #expect(delete.sources == [.table, .openapi, .override])
        #expect(catalog.match(method: .GET, path: "/invoices")?.route.access == [.agency])
        #expect(catalog.disagreements.first { $0.kind == .scopesDiffer }?.resolution == #"the override at o.yaml:3 sets ["contacts.write"]"#)
    }

    @Test func operationsWithoutAScopeFailClosedUntilAnOverrideGivesOne() throws {
        let catalog = try Self.compile()
        #expect(catalog.match(method: .GET, path: "/unscoped/u1") == nil)
        #expect(catalog.unroutable.map(\.description) == ["GET /unscoped/:id"])
        #expect(catalog.diagnostics.contains { $0.kind == .unscopedOperation && $0.location.description == "s.json:11" })
        #expect(
            catalog.unmatchedReason(method: "GET", path: "/unscoped/u1")
                == "GET /unscoped/:id is documented by HighLevel without a scope (s.json:11); it is not forwarded until catalog-overrides.yaml gives it one"
        )
        #expect(catalog.unmatchedReason(method: "GET", path: "/elsewhere") == "no HighLevel route matches GET /elsewhere")

        let fixed = try Self.compile(overrides: [Self.override(.correct, .GET, "/unscoped/:id", scopes: ["spec.readonly"])])
        let route = try #require(fixed.match(method: .GET, path: "/unscoped/u1")?.route)
        #expect(route.scopes == ["spec.readonly"] && route.access.isEmpty && fixed.unroutable.isEmpty)
        #expect(throws: CatalogError.self) {
            try Self.compile(overrides: [Self.override(.add, .GET, "/unscoped/:id", scopes: ["spec.readonly"], access: [.subAccount])])
        }
    }

    @Test func aWriteUnderAReadOnlyScopeOnlyInTheSpecIsFlagged() throws {
        let catalog = try Self.compile()
        #expect(
            catalog.diagnostics.contains {
                $0.kind == .writeUnderReadOnlyScope && $0.location.description == "s.json:12" && $0.message.contains("wrong.readonly")
            })
    }

    @Test func differentParameterNamesAreOneRouteAndKeepTargetNames() throws {
        for prefer in CatalogSource.Preference.allCases {
            let catalog = try Self.compile(prefer: prefer)
            // `:id` in the table, `{locationId}` in the spec: the name that identifies a target is kept.
            let location = try #require(catalog.match(method: .GET, path: "/locations/L1"))
            #expect(location.parameters == [RouteParameter(name: "locationId", value: "L1")])
            #expect(catalog.diagnostics.contains { $0.kind == .parameterNamesDiffer && $0.location.description == "s.json:7" })
            // Otherwise the preferred source names it; the GET beside it keeps its own name.
            let delete = try #require(catalog.match(method: .DELETE, path: "/contacts/c1"))
            #expect(delete.parameters.map(\.name) == [prefer == .table ? "id" : "contactId"])
            #expect(catalog.match(method: .GET, path: "/contacts/c1")?.parameters.map(\.name) == ["contactId"])
        }
    }

    @Test func anOperationInTwoSpecFilesIsMergedOnce() throws {
        let other = OpenAPISpec(
            parsing: Array(
                #"""
                {"paths": {"/unscoped/{uid}": {"get": {"security": [{"Location-Access": ["spec.readonly"]}]}}}}
                """#.utf8), file: "v3.json")
        let catalog = try Self.compile(specs: [Self.spec, other])
        let route = try #require(catalog.match(method: .GET, path: "/unscoped/u1")?.route)
        #expect(route.scopes == ["spec.readonly"] && route.access == [.subAccount])
        #expect(route.definedAt.map(\.description) == ["s.json:11", "v3.json:1"])
        #expect(catalog.diagnostics.contains { $0.kind == .mergedRoute && $0.location.description == "v3.json:1" })
        #expect(catalog.summary.openapi.routes == 9)
    }
}
