import Testing

@testable import ScopeCatalog

@Suite("Route trie")
struct RouteTrieTests {
    /// A catalog with the precedence traps of the real table.
    private static let catalog: CompiledCatalog = {
        let table = ScopeTable(parsing: """
            | Scope | API Endpoints | Webhook Events | Access Type |
            | --- | --- | --- | --- |
            | locations.readonly | GET /locations/:locationId |  | Sub-Account, Agency |
            |  | GET /locations/search |  | Sub-Account, Agency |
            |  | GET /locations/timeZones |  | Sub-Account |
            | locations/tags.readonly | GET /locations/:locationId/tags |  | Sub-Account |
            | calendars.readonly | GET /calendars/ |  | Sub-Account |
            |  | GET /calendars/:calendarId |  | Sub-Account |
            |  | GET /calendars/:calendarId/free-slots |  | Sub-Account |
            | calendars/groups.readonly | GET /calendars/groups |  | Sub-Account |
            | calendars/groups.write | PUT /calendars/groups/:groupId |  | Sub-Account |
            | calendars.write | PUT /calendars/:calendarId |  | Sub-Account |
            | calendars/events.readonly | GET /calendars/events/appointments/:eventId |  | Sub-Account |
            | calendars/resources.readonly | GET /calendars/:resourceType/appointments/list |  | Sub-Account |
            | contacts.readonly | GET /contacts/:contactId |  | Sub-Account |
            |  | GET /contacts/:contactId/tasks |  | Sub-Account |
            |  | GET /contacts/business/:businessId |  | Sub-Account |
            | contacts.write | DELETE /contacts/:contactId/campaigns/removeAll |  | Sub-Account |
            |  | DELETE /contacts/:contactId/campaigns/:campaignId |  | Sub-Account |
            | contacts/more.readonly | GET /contacts/:contactId |  | Sub-Account |
            """, file: "t.md")
        return try! CompiledCatalog(table: table, overrides: [])
    }()

    private func lookup(_ method: RouteMethod, _ path: String) -> (template: String, params: [String: String])? {
        guard let found = Self.catalog.match(method: method, path: path) else { return nil }
        return (found.route.template.description,
                Dictionary(uniqueKeysWithValues: found.parameters.map { ($0.name, $0.value) }))
    }

    @Test func staticSegmentsBeatParameters() {
        #expect(lookup(.GET, "/locations/search")?.template == "/locations/search")
        #expect(lookup(.GET, "/locations/timeZones")?.template == "/locations/timeZones")
        #expect(lookup(.GET, "/locations/abc")?.params == ["locationId": "abc"])
        #expect(lookup(.PUT, "/calendars/groups/g1")?.template == "/calendars/groups/:groupId")
        #expect(lookup(.PUT, "/calendars/c1")?.template == "/calendars/:calendarId")
        #expect(lookup(.GET, "/contacts/business/b1")?.params == ["businessId": "b1"])
        #expect(lookup(.GET, "/contacts/c1/tasks")?.template == "/contacts/:contactId/tasks")
        #expect(lookup(.DELETE, "/contacts/c1/campaigns/removeAll")?.template == "/contacts/:contactId/campaigns/removeAll")
        #expect(lookup(.DELETE, "/contacts/c1/campaigns/k9")?.params == ["contactId": "c1", "campaignId": "k9"])
    }

    @Test func backtracksFromAStaticDeadEnd() {
        // "events" is a static child of /calendars, but its subtree has no GET .../free-slots:
        // the parameter branch must still be tried.
        #expect(lookup(.GET, "/calendars/events/free-slots")?.params == ["calendarId": "events"])
        // "search" is static under /locations but has no /tags below it.
        #expect(lookup(.GET, "/locations/search/tags")?.params == ["locationId": "search"])
        // A static segment that has the route but not for this method falls back to the parameter.
        #expect(lookup(.PUT, "/calendars/groups")?.params == ["calendarId": "groups"])
        #expect(lookup(.GET, "/contacts/business")?.params == ["contactId": "business"])
    }

    @Test func staticBranchStillMatchesWhenAParameterBranchExistsBeside() {
        #expect(lookup(.GET, "/calendars/events/appointments/e1")?.params == ["eventId": "e1"])
        #expect(lookup(.GET, "/calendars/rooms/appointments/list")?.params == ["resourceType": "rooms"])
    }

    @Test func oneTrailingSlashIsIgnored() {
        #expect(lookup(.GET, "/calendars")?.template == "/calendars")
        #expect(lookup(.GET, "/calendars/")?.template == "/calendars")
        #expect(lookup(.GET, "/contacts/c1/")?.params == ["contactId": "c1"])
        #expect(lookup(.GET, "/calendars//") == nil)
        #expect(lookup(.GET, "/contacts/c1//") == nil)
    }

    @Test func everythingElseIsExact() {
        #expect(lookup(.GET, "/Calendars") == nil)
        #expect(lookup(.GET, "/locations/SEARCH")?.params == ["locationId": "SEARCH"])
        #expect(lookup(.GET, "//calendars") == nil)
        #expect(lookup(.GET, "/contacts//tasks") == nil)
        #expect(lookup(.GET, "calendars") == nil)
        #expect(lookup(.GET, "") == nil)
        #expect(lookup(.GET, "/") == nil)
        #expect(lookup(.GET, "/contacts/c1/tasks/extra") == nil)
        #expect(lookup(.GET, "/unknown/path") == nil)
    }

    @Test func methodsAreDistinct() {
        #expect(lookup(.DELETE, "/calendars/c1") == nil)
        #expect(lookup(.POST, "/locations/search") == nil)
        #expect(lookup(.PUT, "/calendars/c1")?.template == "/calendars/:calendarId")
        #expect(RouteMethod(rawValue: "get") == nil)
        #expect(RouteMethod(rawValue: "OPTIONS") == nil)
    }

    @Test func sameRouteUnderTwoScopesMerges() throws {
        let found = try #require(Self.catalog.match(method: .GET, path: "/contacts/c1"))
        #expect(found.route.scopes == ["contacts.readonly", "contacts/more.readonly"])
        #expect(Self.catalog.diagnostics.contains { $0.kind == .mergedRoute && $0.location.line == 20 })
    }

    @Test func parameterValuesAreCopiedExactly() {
        #expect(lookup(.GET, "/contacts/%C3%A9t%C3%A9")?.params == ["contactId": "%C3%A9t%C3%A9"])
        #expect(lookup(.GET, "/contacts/été")?.params == ["contactId": "été"])
    }
}
