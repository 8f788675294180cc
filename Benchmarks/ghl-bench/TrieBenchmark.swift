import ArgumentParser
import Foundation
import GatewayPolicy
import ScopeCatalog

/// Nanoseconds per `CompiledCatalog.match` over a mix of every catalog route (parameters filled)
/// and as many unknown paths, on the table alone, on the shipped union of the table and the
/// OpenAPI specs, and on the union with synthetic routes added:
/// the same mix on both shows that the cost of a match does not grow with the number of routes.
struct TrieBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trie", abstract: "Route trie: median and p99 nanoseconds per match.")

    @Option(help: "The scopes table.") var catalog = CatalogLoader.defaultTablePath
    @Option(help: "The directory of OpenAPI specifications.") var openapi = CatalogLoader.defaultOpenAPIDirectory
    @Option(help: "The catalog overrides.") var overrides = CatalogLoader.defaultOverridesPath
    @Option(help: "Synthetic routes added for the last runs.") var synthetic = 10_000
    @Option(help: "Timed rounds over the whole mix.") var rounds = 200

    func run() throws {
        var sources = CatalogLoader.Sources(
            table: (catalog, try String(contentsOfFile: catalog, encoding: .utf8)),
            overrides: (overrides, try String(contentsOfFile: overrides, encoding: .utf8)))
        let tableOnly = try CatalogLoader.compile(sources)
        report("table only", tableOnly, mix: Self.mix(for: tableOnly))

        sources.specs = try CatalogLoader.specFiles(in: openapi, required: true)
        let union = try CatalogLoader.compile(sources)
        let unionMix = Self.mix(for: union)
        report("table + OpenAPI union (shipped)", union, mix: unionMix)

        var rows = ""
        for index in 0..<synthetic {
            rows += "| synthetic\(index % 97).readonly | GET /synthetic\(index % 500)/r\(index / 500)/:id/items |  | Sub-Account |\n"
        }
        sources.table.text += "\n" + rows
        let grown = try CatalogLoader.compile(sources)
        report("union + \(synthetic) synthetic routes, same mix", grown, mix: unionMix)
        report("union + \(synthetic) synthetic routes, mix of all routes", grown, mix: Self.mix(for: grown))
    }

    private func report(_ name: String, _ catalog: CompiledCatalog, mix: [(RouteMethod, String)]) {
        let block = 64
        var perMatch: [Double] = []
        var hits = 0
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<rounds {
            let order = mix.shuffled(using: &generator)
            var start = 0
            while start + block <= order.count {
                let began = DispatchTime.now().uptimeNanoseconds
                for index in start..<(start + block) where catalog.match(method: order[index].0, path: order[index].1) != nil {
                    hits &+= 1
                }
                let elapsed = DispatchTime.now().uptimeNanoseconds - began
                perMatch.append(Double(elapsed) / Double(block))
                start += block
            }
        }
        perMatch.sort()
        let median = perMatch[perMatch.count / 2]
        let p99 = perMatch[Int(Double(perMatch.count) * 0.99)]
        let expectedHits = rounds * (mix.count / block) * block
        print(
            String(
                format: "%@: %d routes, mix of %d paths (half unknown): median %.0f ns/match, p99 %.0f ns/match (%d matched of %d)",
                name, catalog.routes.count, mix.count, median, p99, hits, expectedHits))
    }

    /// Every route with its parameters filled, plus one unknown path per route.
    private static func mix(for catalog: CompiledCatalog) -> [(RouteMethod, String)] {
        var paths: [(RouteMethod, String)] = []
        for (index, route) in catalog.routes.enumerated() {
            let filled = route.template.segments.map { segment -> String in
                switch segment {
                case .literal(let text): text
                case .parameter: "id\(index)AbC9"
                }
            }
            paths.append((route.method, "/" + filled.joined(separator: "/")))
            var unknown = filled
            unknown[unknown.count - 1] += "-nope"
            unknown.append("zz")
            paths.append((route.method, "/" + unknown.joined(separator: "/")))
        }
        return paths
    }
}
