import ArgumentParser
import Foundation
import GatewayPolicy
import GatewayRuntime
import ScopeCatalog

struct ScopesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scopes",
        abstract: "Compile HighLevel's scopes table and OpenAPI specs, compare them, and look up routes.",
        subcommands: [Compile.self, Diff.self, Lookup.self]
    )

    struct CatalogOptions: ParsableArguments {
        @Option(help: "The scopes table (markdown).")
        var catalog = CatalogLoader.defaultTablePath
        @Option(help: "The directory of HighLevel's OpenAPI specifications (*.json); used when it exists unless named.")
        var openapi: String?
        @Option(help: "Corrections and additions to the catalog (YAML).")
        var overrides: String?
        @Option(help: "Which source wins where the table and the OpenAPI specs disagree: table or openapi.")
        var prefer: CatalogSource.Preference = .table

        func load() throws(CatalogLoader.LoadError) -> CompiledCatalog {
            try CatalogLoader.load(
                tablePath: catalog, openAPIDirectory: openapi ?? CatalogLoader.defaultOpenAPIDirectory, openAPIRequired: openapi != nil,
                overridesPath: overrides ?? CatalogLoader.defaultOverridesPath, overridesRequired: overrides != nil, prefer: prefer)
        }

        /// The catalog, or the compile errors on standard error and exit code `failure`.
        func loadOrExit(failure: Int32) throws -> CompiledCatalog {
            do {
                return try load()
            } catch {
                if case .invalid(let failure) = error {
                    for diagnostic in failure.diagnostics where diagnostic.severity == .error {
                        printError(diagnostic.description)
                    }
                }
                printError("error: \(error.errorSummary)")
                throw ExitCode(failure)
            }
        }
    }

    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise the compiled catalog and list every diagnostic as FILE:LINE: kind: message.")

        @OptionGroup var options: CatalogOptions
        @Flag(help: "Print the compiled catalog as JSON instead of the summary.")
        var json = false

        func run() throws {
            let catalog = try options.loadOrExit(failure: 1)
            if json {
                print(try CatalogDump(catalog).json())
                return
            }
            let summary = catalog.summary
            let counts = catalog.diagnosticCounts
            print("routes: \(catalog.routes.count)")
            print("unroutable: \(catalog.unroutable.count) (documented without a scope; give one in catalog-overrides.yaml)")
            print("scopes: \(catalog.scopes.count)")
            print("events: \(catalog.events.count)")
            print("sources:")
            print("  table: \(summary.table.routes) routes, \(summary.table.scopes) scopes")
            print(
                "  openapi: \(summary.openapi.routes) routes, \(summary.openapi.scopes) scopes "
                    + "(\(summary.openapiOperations) operations in \(summary.openapiFiles) files)")
            print("  in both: \(summary.inBoth)")
            print("  only in table: \(summary.onlyInTable)")
            print("  only in openapi: \(summary.onlyInOpenAPI)")
            print("  only in overrides: \(summary.onlyInOverrides)")
            print("disagreements: \(catalog.disagreements.count) (catalog.prefer: \(options.prefer.rawValue); details: scopes diff)")
            for kind in CatalogDisagreement.Kind.allCases {
                print("  \(kind.rawValue): \(summary.disagreements[kind, default: 0])")
            }
            print("diagnostics: \(catalog.diagnostics.count)")
            for kind in CatalogDiagnostic.Kind.allCases where counts[kind, default: 0] > 0 {
                print("  \(kind.rawValue): \(counts[kind]!)")
            }
            for diagnostic in catalog.diagnostics {
                print(diagnostic.description)
            }
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print where the scopes table and the OpenAPI specs disagree, one route per line with both sources' FILE:LINE.")

        @OptionGroup var options: CatalogOptions
        @Flag(help: "Print the disagreements as a JSON array.")
        var json = false

        func run() throws {
            let catalog = try options.loadOrExit(failure: 2)
            if json {
                print(try prettyJSON(catalog.disagreements))
                return
            }
            for disagreement in catalog.disagreements {
                print(disagreement.description)
            }
        }
    }

    struct Lookup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the route, parameters, scopes and access types for METHOD PATH as one JSON object; exit 1 when no route matches.")

        @Argument(help: "GET, POST, PUT, PATCH or DELETE.") var method: String
        @Argument(help: "The request path; a query string is ignored.") var path: String
        @OptionGroup var options: CatalogOptions

        func run() throws {
            let catalog = try options.loadOrExit(failure: 2)
            let pathOnly = String(path.prefix { $0 != "?" && $0 != "#" })
            guard let method = RouteMethod(rawValue: method.uppercased()),
                let found = catalog.match(method: method, path: pathOnly)
            else {
                var error = JSONLine()
                error.add("code", "route_unknown")
                error.add("message", catalog.unmatchedReason(method: method.uppercased(), path: pathOnly))
                var body = JSONLine()
                body.add("error", object: error)
                print(body.text)
                throw ExitCode(1)
            }
            var params = JSONLine()
            for parameter in found.parameters { params.add(parameter.name, parameter.value) }
            var line = JSONLine()
            line.add("method", method.rawValue)
            line.add("template", found.route.template.description)
            line.add("params", object: params)
            line.add("scopes", found.route.scopes)
            line.add("access", found.route.access.map(\.rawValue))
            line.add("sources", found.route.sources.map(\.rawValue))
            print(line.text)
        }
    }
}

/// The compiled catalog as `scopes compile --json` prints it.
private struct CatalogDump: Encodable {
    let summary: CatalogSummary
    let routes: [CatalogRoute]
    let unroutable: [CatalogRoute]
    let scopes: [String]
    let events: [String: [String]]
    let disagreements: [CatalogDisagreement]
    let diagnostics: [CatalogDiagnostic]

    init(_ catalog: CompiledCatalog) {
        summary = catalog.summary
        routes = catalog.routes
        unroutable = catalog.unroutable
        disagreements = catalog.disagreements
        scopes = catalog.scopes
        events = catalog.events
        diagnostics = catalog.diagnostics
    }

    func json() throws -> String { try prettyJSON(self) }
}

private func prettyJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension CatalogSource.Preference: ExpressibleByArgument {}

extension CatalogLoader.LoadError {
    /// One line for the terminal; the full diagnostics are printed separately.
    var errorSummary: String {
        switch self {
        case .unreadable: description
        case .invalid(let error): "the scope catalog has \(error.errors.count) error(s); nothing compiled"
        }
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
