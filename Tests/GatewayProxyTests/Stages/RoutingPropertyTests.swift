import GatewayTestSupport
import ScopeCatalog
import Testing

@testable import GatewayProxy
@testable import GatewayRuntime

/// The trie against a router written the slow, obvious way, over every route of the shipped
/// catalog: paths spelled in random case, parameters named like a sibling's static segment,
/// percent-encoded letters. Whatever HighLevel would run is what was authorized, and what is
/// forwarded names that same route in the catalog's spelling.
@Suite("Stage: routing as HighLevel routes")
struct RoutingPropertyTests {
    /// Routes as HighLevel's router (Express, case-insensitive) does, by trying every route: a
    /// static segment equals a path segment ignoring ASCII case, a parameter takes any non-empty
    /// segment, one trailing slash is ignored; of the routes that match, the one whose first
    /// differing segment is static wins (static segments beat parameters, as in HighLevel's Express routing).
    struct ReferenceRouter {
        let routes: [CatalogRoute]

        func route(_ method: RouteMethod, _ path: String) -> CatalogRoute? {
            guard path.hasPrefix("/") else { return nil }
            var trimmed = Substring(path)
            if trimmed.count > 1, trimmed.hasSuffix("/"), !trimmed.hasSuffix("//") { trimmed.removeLast() }
            let segments = trimmed == "/" ? [] : trimmed.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            let matching = routes.filter { $0.method == method && Self.matches($0.template.segments, segments) }
            return matching.min { Self.precedes($0.template.segments, $1.template.segments) }
        }

        private static func matches(_ template: [RouteTemplate.Segment], _ segments: [Substring]) -> Bool {
            guard template.count == segments.count else { return false }
            return zip(template, segments).allSatisfy { part, segment in
                switch part {
                case .literal(let text): asciiLowercased(text) == asciiLowercased(segment)
                case .parameter: !segment.isEmpty
                }
            }
        }

        private static func precedes(_ a: [RouteTemplate.Segment], _ b: [RouteTemplate.Segment]) -> Bool {
            for (x, y) in zip(a, b) {
                switch (x, y) {
                case (.literal, .parameter): return true
                case (.parameter, .literal): return false
                default: continue
                }
            }
            return false
        }

        static func asciiLowercased(_ text: some StringProtocol) -> String {
            String(text.map { $0.isASCII ? Character($0.lowercased()) : $0 })
        }
    }

    /// The static segments that follow each prefix of a template in some route (a prefix is the
    /// lowercased segments before, parameters as `:`): where a parameter sits beside them, its
    /// value may be one of them.
    struct Siblings {
        private var literalsAfter: [String: [String]] = [:]

        init(_ routes: [CatalogRoute]) {
            var found: [String: Set<String>] = [:]
            for route in routes {
                for (index, segment) in route.template.segments.enumerated() {
                    if case .literal(let text) = segment { found[Self.prefix(route, index), default: []].insert(text) }
                }
            }
            literalsAfter = found.mapValues { $0.sorted() }
        }

        func literals(after route: CatalogRoute, _ index: Int) -> [String] {
            literalsAfter[Self.prefix(route, index)] ?? []
        }

        private static func prefix(_ route: CatalogRoute, _ index: Int) -> String {
            route.template.segments[..<index].map { segment in
                if case .literal(let text) = segment { "/" + ReferenceRouter.asciiLowercased(text) } else { "/:" }
            }.joined()
        }
    }

    /// A path for `route`: literals in random case, now and then with a letter percent-encoded;
    /// parameters as an id or as a sibling route's static segment; sometimes a trailing slash.
    static func randomPath(for route: CatalogRoute, siblings: Siblings, _ generator: inout SplitMix64) -> String {
        var path = ""
        for (index, segment) in route.template.segments.enumerated() {
            path += "/"
            switch segment {
            case .literal(let text):
                path += disguise(text, &generator)
            case .parameter:
                let beside = siblings.literals(after: route, index)
                path +=
                    beside.isEmpty || Bool.random(using: &generator)
                    ? "Id\(generator.next() % 1000)" : disguise(beside.randomElement(using: &generator)!, &generator)
            }
        }
        if path.isEmpty || Int.random(in: 0..<8, using: &generator) == 0 { path += "/" }
        return path
    }

    private static func disguise(_ text: String, _ generator: inout SplitMix64) -> String {
        var out = ""
        for character in text {
            let flipped = character.isLetter && Int.random(in: 0..<3, using: &generator) == 0
            let spelled = flipped ? (character.isUppercase ? character.lowercased() : character.uppercased()) : String(character)
            if character.isLetter, Int.random(in: 0..<20, using: &generator) == 0 {
                out += "%" + String(spelled.utf8.first!, radix: 16, uppercase: Bool.random(using: &generator))
            } else {
                out += spelled
            }
        }
        return out
    }

    @Test func theTrieRoutesAsHighLevelDoesAndForwardsTheCatalogsSpelling() throws {
        let catalog = try StageFixture().store.snapshot.catalog
        let reference = ReferenceRouter(routes: catalog.routes)
        let siblings = Siblings(catalog.routes)
        let stages = ProxyStages(limits: GatewayConfiguration.Limits())
        var generator = SplitMix64(seed: 24)
        var respelled = 0
        var elsewhere = 0
        for route in catalog.routes {
            for _ in 0..<6 {
                let path = Self.randomPath(for: route, siblings: siblings, &generator)
                let canonical = try CanonicalTarget(path, maxLength: 8192).path
                let expected = try #require(reference.route(route.method, canonical), "\(route.method) \(path)")
                let (target, match) = try stages.route(method: route.method.rawValue, path: path, catalog: catalog)
                #expect(match.route.key == expected.key, "\(route.method) \(path): \(match.route.template) where HighLevel runs \(expected.template)")
                if expected.key != route.key { elsewhere += 1 }

                // What is forwarded names the same route, spelled as the catalog spells it, with the same values.
                let again = try #require(catalog.match(method: route.method, path: target.path), "\(path) → \(target.path)")
                #expect(again.route.key == match.route.key, "\(path) → \(target.path)")
                #expect(again.respelledPath == nil, "\(path) → \(target.path)")
                #expect(again.parameters == match.parameters, "\(path) → \(target.path)")
                #expect(
                    ReferenceRouter.asciiLowercased(Self.trimmed(target.path)) == ReferenceRouter.asciiLowercased(Self.trimmed(canonical)),
                    "\(path) → \(target.path)")
                if target.path != canonical { respelled += 1 }
            }
        }
        #expect(respelled > catalog.routes.count, "few paths needed respelling: \(respelled)")
        #expect(elsewhere > 10, "few parameters fell on a sibling's static segment: \(elsewhere)")
    }

    @Test func theIssuesExamplesReachTheRouteHighLevelRuns() throws {
        let catalog = try StageFixture().store.snapshot.catalog
        let stages = ProxyStages(limits: GatewayConfiguration.Limits())
        let examples = [
            ("/calendars/EVENTS?locationId=l1", "/calendars/events", "calendars/events.readonly"),
            ("/calendars/%45vents?locationId=l1", "/calendars/events", "calendars/events.readonly"),
            ("/calendars/GROUPS?locationId=l1", "/calendars/groups", "calendars/groups.readonly"),
        ]
        for (path, forwarded, scope) in examples {
            let (target, match) = try stages.route(method: "GET", path: path, catalog: catalog)
            #expect(target.path == forwarded, "\(path)")
            #expect(target.query == "locationId=l1", "\(path)")
            #expect(match.route.scopes.contains(scope), "\(path): \(match.route.scopes)")
        }
    }

    @Test func aQueryThatOverridesTheMethodIsRefused() throws {
        let catalog = try StageFixture().store.snapshot.catalog
        let stages = ProxyStages(limits: GatewayConfiguration.Limits())
        for query in ["_method=DELETE", "a=1&_method=DELETE", "%5Fmethod=DELETE", "_%6Dethod=PUT", "_method[]=DELETE", "_method", "_method=%zz"] {
            #expect(throws: GatewayError.self, "\(query)") { try stages.route(method: "GET", path: "/contacts/c1?\(query)", catalog: catalog) }
        }
        for query in ["method=email", "x_method=DELETE", "name=%41", "_METHOD=DELETE"] {
            let (target, _) = try stages.route(method: "GET", path: "/contacts/c1?\(query)", catalog: catalog)
            #expect(target.query == query)
        }
    }

    private static func trimmed(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}
