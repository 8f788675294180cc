import Testing

@testable import ScopeCatalog

@Suite("Catalog overrides")
struct CatalogOverrideTests {
    private let table = ScopeTable(
        parsing: """
            | Scope | API Endpoints | Webhook Events | Access Type |
            | --- | --- | --- | --- |
            | funnels/pagecount.readonly | GET /funnels/page/count |  | Sub-Account |
            |  | DELETE /funnels/lookup/redirect/:id |  | Sub-Account |
            | funnels/redirect.write | POST /funnels/lookup/redirect |  | Sub-Account |
            | charges.write | DELETE /marketplace/billing/charges/:chargeId |  |  |
            | users.readonly | GET /users/:userId |  | Sub-Account, Agency |
            | users/more.readonly | GET /users/:id |  | Agency |
            """, file: "t.md")

    private func override(
        _ action: CatalogOverride.Action, _ method: RouteMethod, _ template: String, scopes: [String]? = nil,
        access: [AccessType]? = nil, line: Int = 1
    ) -> CatalogOverride {
        CatalogOverride(
            action: action, method: method, template: try! RouteTemplate(template), scopes: scopes, access: access,
            location: SourceLocation(file: "o.yaml", line: line))
    }

    private var fixAccessConflict: CatalogOverride {
        override(.correct, .GET, "/users/:userId", access: [.subAccount, .agency], line: 9)
    }

    @Test func correctionsReplaceScopesAndAccess() throws {
        let catalog = try CompiledCatalog(
            table: table,
            overrides: [
                override(.correct, .DELETE, "/funnels/lookup/redirect/:id", scopes: ["funnels/redirect.write"]),
                override(.correct, .DELETE, "/marketplace/billing/charges/:chargeId", access: [.subAccount]),
                fixAccessConflict,
            ])
        let redirect = try #require(catalog.match(method: .DELETE, path: "/funnels/lookup/redirect/r1"))
        #expect(redirect.route.scopes == ["funnels/redirect.write"])
        #expect(redirect.route.access == [.subAccount])
        let charge = try #require(catalog.match(method: .DELETE, path: "/marketplace/billing/charges/c1"))
        #expect(charge.route.access == [.subAccount])
        #expect(charge.route.scopes == ["charges.write"])
        #expect(catalog.diagnostics.filter { $0.kind == .overrideApplied }.count == 3)
    }

    @Test func additionsAddRoutes() throws {
        let catalog = try CompiledCatalog(
            table: table,
            overrides: [
                fixAccessConflict,
                override(.add, .GET, "/funnels/lookup/redirect/:id", scopes: ["funnels/pagecount.readonly"], access: [.subAccount]),
            ])
        let found = try #require(catalog.match(method: .GET, path: "/funnels/lookup/redirect/r2"))
        #expect(found.route.scopes == ["funnels/pagecount.readonly"])
        #expect(found[parameter: "id"] == "r2")
    }

    @Test func conflictingAccessTypesAreACompileError() {
        #expect {
            try CompiledCatalog(table: table, overrides: [])
        } throws: { error in
            (error as? CatalogError)?.errors.map(\.kind) == [.conflictingAccessTypes]
        }
    }

    @Test(arguments: [
        ("correct", "GET", "/not/in/table", ["funnels/redirect.write"]),
        ("correct", "DELETE", "/funnels/lookup/redirect/:id", ["no.such.scope"]),
        ("add", "POST", "/funnels/lookup/redirect", ["funnels/redirect.write"]),
        ("add", "GET", "/brand/new", ["invented.readonly"]),
    ])
    func badReferencesAreErrors(action: String, method: String, template: String, scopes: [String]) {
        let bad = override(
            CatalogOverride.Action(rawValue: action)!, RouteMethod(rawValue: method)!, template, scopes: scopes,
            access: [.subAccount], line: 7)
        #expect {
            try CompiledCatalog(table: table, overrides: [fixAccessConflict, bad])
        } throws: { error in
            let errors = (error as? CatalogError)?.errors ?? []
            return errors.count == 1 && errors[0].kind == .invalidOverride && errors[0].location.line == 7
        }
    }

    @Test func additionNeedsScopesAndAccess() {
        #expect(throws: CatalogError.self) {
            try CompiledCatalog(
                table: table,
                overrides: [
                    fixAccessConflict, override(.add, .GET, "/brand/new", scopes: ["users.readonly"]),
                ])
        }
    }
}
