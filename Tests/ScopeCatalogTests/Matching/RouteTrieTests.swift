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

    /// Sibling literals whose folded hashes collide (found among generated names, so the trie's
    /// search lands on one of two equal keys): each still reaches its own route, in any case.
    @Test func siblingsWithTheSameHashEachMatchTheirOwnRoute() throws {
        var seen: [UInt32: String] = [:]
        var pair: (String, String)?
        for index in 0..<400_000 where pair == nil {
            let name = Self.scrambledName(index)
            let hash = RouteTrie.foldedHash(Array(name.utf8))
            if let other = seen[hash] { pair = (other, name) } else { seen[hash] = name }
        }
        let (first, second) = try #require(pair)
        let table = ScopeTable(
            parsing: """
                | Scope | API Endpoints | Webhook Events | Access Type |
                | --- | --- | --- | --- |
                | a.readonly | GET /x/\(first) |  | Sub-Account |
                | b.readonly | GET /x/\(second)/:id |  | Sub-Account |
                | c.readonly | GET /x/:name |  | Sub-Account |
                """, file: "t.md")
        let catalog = try CompiledCatalog(table: table, overrides: [])
        #expect(catalog.match(method: .GET, path: "/x/" + first)?.route.scopes == ["a.readonly"])
        #expect(catalog.match(method: .GET, path: "/x/" + first.uppercased())?.route.scopes == ["a.readonly"])
        #expect(catalog.match(method: .GET, path: "/x/\(second)/7")?.route.scopes == ["b.readonly"])
        #expect(catalog.match(method: .GET, path: "/x/" + second)?.route.scopes == ["c.readonly"])
    }

    /// Eight lower-case letters from a scrambled index: names spread over the hash's range, where
    /// sequential names (differing in a few bytes) never collide.
    private static func scrambledName(_ index: Int) -> String {
        var bits = UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        var name = ""
        for _ in 0..<8 {
            name.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "a") + UInt8(bits % 26)))
            bits /= 26
        }
        return name
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
