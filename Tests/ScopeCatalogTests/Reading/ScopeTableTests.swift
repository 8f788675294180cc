import Testing

@testable import ScopeCatalog

@Suite("Scope table quirks")
struct ScopeTableTests {
    private func parse(_ rows: String) -> ScopeTable {
        ScopeTable(
            parsing: """
                | Scope | API Endpoints | Webhook Events | Access Type |
                | --- | --- | --- | --- |
                \(rows)
                """, file: "t.md")
    }

    private func kinds(_ table: ScopeTable, line: Int) -> [CatalogDiagnostic.Kind] {
        table.diagnostics.filter { $0.location.line == line }.map(\.kind)
    }

    @Test func emptyScopeCellContinuesTheScopeAbove() {
        let table = parse(
            """
            | contacts.readonly | GET /contacts/:contactId |  | Sub-Account |
            |  | GET /contacts/:contactId/tasks |  | Sub-Account |
            """)
        #expect(table.entries.map(\.scope) == ["contacts.readonly", "contacts.readonly"])
        #expect(kinds(table, line: 4) == [.continuedScope])
    }

    @Test func continuationWithoutScopeAboveIsAnError() {
        let table = parse("|  | GET /x |  | Sub-Account |")
        #expect(table.entries.isEmpty)
        #expect(table.diagnostics.contains { $0.kind == .malformedRow && $0.severity == .error && $0.location.line == 3 })
    }

    @Test func eventsWithoutEndpointAndScopeWithoutEndpoint() {
        let table = parse(
            """
            | opportunities.readonly | GET /opportunities/:id | OpportunityCreate | Sub-Account |
            |  |  | OpportunityStatusUpdate | Sub-Account |
            | objects/schema.write |  |  | Sub-Account |
            """)
        #expect(table.entries.count == 1)
        #expect(kinds(table, line: 4) == [.continuedScope, .eventsWithoutEndpoint])
        #expect(kinds(table, line: 5) == [.scopeWithoutEndpoint])
        #expect(table.scopes == ["opportunities.readonly", "objects/schema.write"])
        #expect(table.events["OpportunityStatusUpdate"] == ["opportunities.readonly"])
        #expect(table.events["OpportunityCreate"] == ["opportunities.readonly"])
    }

    @Test func pathWithoutLeadingSlashIsRepaired() {
        let table = parse("| courses.write | POST courses/courses-exporter/public/import |  | Sub-Account |")
        #expect(table.entries.first?.template.description == "/courses/courses-exporter/public/import")
        #expect(kinds(table, line: 3) == [.missingLeadingSlash])
    }

    @Test func spaceInsidePathIsRemoved() {
        let table = parse("| calendars/events.write | PUT /calendars/events/appointments /:eventId |  | Sub-Account |")
        #expect(table.entries.first?.template.description == "/calendars/events/appointments/:eventId")
        #expect(kinds(table, line: 3) == [.spaceInPath])
    }

    @Test func escapedUnderscoreIsUnescapedInPathsAndScopes() {
        let table = parse(
            """
            | associations.readonly | GET /associations/key/:key\\_name |  | Sub-Account |
            | documents\\_contracts/list.readonly | GET /proposals/document |  | Sub-Account, Agency |
            """)
        #expect(table.entries.map(\.template.description) == ["/associations/key/:key_name", "/proposals/document"])
        #expect(table.entries[0].template.parameterNames == ["key_name"])
        #expect(table.scopes == ["associations.readonly", "documents_contracts/list.readonly"])
        #expect(kinds(table, line: 3) == [.escapedCharacter])
        #expect(kinds(table, line: 4) == [.escapedCharacter])
    }

    @Test func htmlEntitiesAreDecodedOrBlanked() {
        let table = parse(
            """
            | forms.write | POST /forms/upload-custom-files | &nbsb; | Sub-Account |
            | forms.readonly | GET /forms/ | &nbsp; | Sub-Account |
            """)
        #expect(table.events.isEmpty)
        #expect(kinds(table, line: 3) == [.htmlEntity])
        #expect(table.diagnostics.first { $0.location.line == 3 }?.severity == .warning)
        #expect(table.diagnostics.first { $0.location.line == 4 && $0.kind == .htmlEntity }?.severity == .note)
    }

    @Test func trailingSlashIsDroppedFromTheTemplate() {
        let table = parse("| calendars.readonly | GET /calendars/ |  | Sub-Account |")
        #expect(table.entries.first?.template.description == "/calendars")
        #expect(kinds(table, line: 3) == [.trailingSlash])
    }

    @Test func emptyAccessTypeIsReportedAndLeftEmpty() {
        let table = parse("| charges.write | DELETE /marketplace/billing/charges/:chargeId |  |  |")
        #expect(table.entries.first?.access == [])
        #expect(kinds(table, line: 3) == [.missingAccessType])
    }

    @Test func writeMethodsUnderReadOnlyScopesAreFlagged() {
        let table = parse(
            """
            | funnels/pagecount.readonly | GET /funnels/page/count |  | Sub-Account |
            |  | DELETE /funnels/lookup/redirect/:id |  | Sub-Account |
            |  | PATCH /funnels/lookup/redirect/:id |  | Sub-Account |
            | phonenumbers.read | POST /phone-system/numbers |  | Sub-Account |
            | medias.write | POST /medias/upload-file |  | Sub-Account |
            """)
        let flagged = table.diagnostics.filter { $0.kind == .writeUnderReadOnlyScope }.map(\.location.line)
        #expect(flagged == [4, 5, 6])
    }

    @Test func unknownMethodAccessTypeAndCellCountAreErrors() {
        let table = parse(
            """
            | a.readonly | FETCH /a |  | Sub-Account |
            | b.readonly | GET /b |  | Galaxy |
            | c.readonly | GET /c |  |
            """)
        #expect(table.entries.isEmpty)
        let errors = table.diagnostics.filter { $0.severity == .error }.map(\.location.line)
        #expect(errors == [3, 4, 5])
    }

    @Test func headerMustNameTheColumns() {
        let table = ScopeTable(parsing: "| A | B |\n| --- | --- |\n| x | GET /y |\n", file: "t.md")
        #expect(table.diagnostics.map(\.kind) == [.malformedHeader])
        #expect(table.entries.isEmpty)
    }

    @Test func accessTypesAreReadInAnyOrder() {
        let table = parse("| users.readonly | GET /users/ |  | Agency, Sub-Account |")
        #expect(table.entries.first?.access == [.subAccount, .agency])
    }
}
