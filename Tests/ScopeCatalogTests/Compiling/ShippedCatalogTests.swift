import Foundation
import Testing

@testable import ScopeCatalog

/// The table shipped in `policies/highlevel-scopes.md`, as HighLevel publishes it.
@Suite("Shipped scopes table")
struct ShippedCatalogTests {
    /// `Tests/ScopeCatalogTests/Compiling/` is three folders below the repository.
    static let tablePath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("policies/highlevel-scopes.md").path

    static let table = ScopeTable(
        parsing: try! String(contentsOfFile: tablePath, encoding: .utf8), file: "policies/highlevel-scopes.md")

    @Test func compilesTo313RoutesAnd120Scopes() throws {
        let catalog = try CompiledCatalog(table: Self.table, overrides: [])
        #expect(catalog.routes.count == 313)
        #expect(catalog.scopes.count == 120)
        #expect(Set(catalog.routes.map(\.key)).count == 313)
        #expect(!catalog.diagnostics.contains { $0.severity == .error })
    }

    @Test func reportsEachKnownQuirkAtItsLine() {
        let found = Set(Self.table.diagnostics.map { "\($0.location.line) \($0.kind.rawValue)" })
        for expected in [
            "32 space_in_path", "61 scope_without_endpoint", "71 missing_leading_slash", "72 events_without_endpoint",
            "85 html_entity", "8 trailing_slash", "281 escaped_character", "310 missing_access_type",
            "159 write_under_readonly_scope", "160 write_under_readonly_scope", "161 write_under_readonly_scope",
            "4 continued_scope",
        ] {
            #expect(found.contains(expected), "missing diagnostic \(expected)")
        }
    }

    static let specs: [OpenAPISpec] = {
        let directory = URL(fileURLWithPath: tablePath).deletingLastPathComponent().appendingPathComponent("openapi")
        let names = try! FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return names.map { name in
            OpenAPISpec(parsing: Array(try! Data(contentsOf: directory.appendingPathComponent(name))), file: "policies/openapi/" + name)
        }
    }()

    @Test func theShippedSpecsAndTableCompileToTheirUnion() throws {
        #expect(Self.specs.count == 84)
        #expect(Self.specs.reduce(0) { $0 + $1.operations.count } == 1_203)
        #expect(!Self.specs.contains { $0.diagnostics.contains { $0.severity == .error } })
        let catalog = try CompiledCatalog(table: Self.table, specs: Self.specs, overrides: [])
        let summary = catalog.summary
        #expect(summary.table == CatalogSummary.Source(routes: 313, scopes: 120))
        #expect(summary.openapi == CatalogSummary.Source(routes: 663, scopes: 131))
        #expect((summary.inBoth, summary.onlyInTable, summary.onlyInOpenAPI) == (304, 9, 359))
        #expect(catalog.routes.count + catalog.unroutable.count == 672)
        #expect(catalog.scopes.count == 147)
    }

    @Test(arguments: [false, true])
    func everyRouteWithItsParametersFilledMatchesItself(union: Bool) throws {
        let catalog = try CompiledCatalog(table: Self.table, specs: union ? Self.specs : [], overrides: [])
        for route in catalog.routes {
            var values: [String: String] = [:]
            let path =
                "/"
                + route.template.segments.enumerated().map { index, segment in
                    switch segment {
                    case .literal(let text): return text
                    case .parameter(let name):
                        values[name] = "v\(index)x"
                        return "v\(index)x"
                    }
                }.joined(separator: "/")
            let found = try #require(catalog.match(method: route.method, path: path), "\(route) did not match \(path)")
            #expect(found.route === route, "\(path) matched \(found.route) instead of \(route)")
            #expect(found.route.scopes == route.scopes)
            #expect(found.parameters.map(\.name) == route.parameterNames)
            #expect(Dictionary(found.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }) == values)
        }
    }
}
