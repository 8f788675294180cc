import Testing

@testable import ScopeCatalog

@Suite("Route trie")
struct RouteTrieTests {
    /// A catalog with the precedence traps of the real table.
    private static let catalog: CompiledCatalog = {
        let table = ScopeTable(
            parsing: """
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
        return (
            found.route.template.description,
            Dictionary(uniqueKeysWithValues: found.parameters.map { ($0.name, $0.value) })
        )
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

    /// HighLevel's router (Express) compares static segments ignoring ASCII case, so the trie must:
    /// `/calendars/EVENTS/...` runs the events handler there, not `/calendars/:calendarId/...`.
    @Test func literalsMatchIgnoringASCIICaseAndSayHowToSpellThem() throws {
        #expect(lookup(.GET, "/Calendars")?.template == "/calendars")
        #expect(lookup(.GET, "/locations/SEARCH")?.template == "/locations/search")
        #expect(lookup(.GET, "/locations/TIMEZONES")?.template == "/locations/timeZones")
        #expect(lookup(.GET, "/calendars/EVENTS/appointments/e1")?.params == ["eventId": "e1"])
        #expect(lookup(.GET, "/calendars/Groups")?.template == "/calendars/groups")
        #expect(lookup(.DELETE, "/contacts/C1/campaigns/REMOVEALL")?.params == ["contactId": "C1"])

        let events = try #require(Self.catalog.match(method: .GET, path: "/CALENDARS/Events/APPOINTMENTS/Ab1/"))
        #expect(events.respelledPath == "/calendars/events/appointments/Ab1")
        let zones = try #require(Self.catalog.match(method: .GET, path: "/locations/timezones"))
        #expect(zones.respelledPath == "/locations/timeZones")
        #expect(Self.catalog.match(method: .GET, path: "/calendars/events/appointments/e1")?.respelledPath == nil)
        #expect(Self.catalog.match(method: .GET, path: "/locations/timeZones/")?.respelledPath == nil)
    }

    @Test func onlyASCIILettersFold() {
        for byte in UInt8.min...UInt8.max {
            let expected = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
            #expect(ASCIICase.lower(byte) == expected, "\(byte)")
        }
        #expect(ASCIICase.lowercased("/X/customFields/\u{0130}") == "/x/customfields/\u{0130}")
    }

    @Test func templatesThatDifferOnlyInCaseAreOneRoute() throws {
        let table = ScopeTable(
            parsing: """
                | Scope | API Endpoints | Webhook Events | Access Type |
                | --- | --- | --- | --- |
                | a.readonly | GET /x/customFields |  | Sub-Account |
                | b.readonly | GET /x/customfields |  | Sub-Account |
                """, file: "t.md")
        let catalog = try CompiledCatalog(table: table, overrides: [])
        let found = try #require(catalog.match(method: .GET, path: "/X/CUSTOMFIELDS"))
        #expect(found.route.scopes == ["a.readonly", "b.readonly"])
        #expect(found.respelledPath == "/x/customFields")
    }

    @Test func everythingElseIsExact() {
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
