import ArgumentParser
import Foundation
import GatewayPolicy
import GatewayServer
import ScopeCatalog

struct ScopesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scopes",
        abstract: "Compile HighLevel's scopes table and look up routes.",
        subcommands: [Compile.self, Lookup.self]
    )

    struct CatalogOptions: ParsableArguments {
        @Option(help: "The scopes table (markdown).")
        var catalog = CatalogLoader.defaultTablePath
        @Option(help: "Corrections and additions to the table (YAML).")
        var overrides: String?

        func load() throws(CatalogLoader.LoadError) -> CompiledCatalog {
            try CatalogLoader.load(
                tablePath: catalog, overridesPath: overrides ?? CatalogLoader.defaultOverridesPath,
                overridesRequired: overrides != nil)
        }
    }

    struct Compile: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Summarise the compiled catalog and list every diagnostic as FILE:LINE: kind: message.")

        @OptionGroup var options: CatalogOptions
        @Flag(help: "Print the compiled catalog as JSON instead of the summary.")
        var json = false

        func run() throws {
            let catalog: CompiledCatalog
            do {
                catalog = try options.load()
            } catch {
                if case .invalid(let failure) = error {
                    for diagnostic in failure.diagnostics where diagnostic.severity == .error {
                        printError(diagnostic.description)
                    }
                }
                printError("error: \(error.errorSummary)")
                throw ExitCode(1)
            }
            if json {
                print(try CatalogDump(catalog).json())
                return
            }
            let counts = catalog.diagnosticCounts
            print("routes: \(catalog.routes.count)")
            print("scopes: \(catalog.scopes.count)")
            print("events: \(catalog.events.count)")
            print("diagnostics: \(catalog.diagnostics.count)")
            for kind in CatalogDiagnostic.Kind.allCases where counts[kind, default: 0] > 0 {
                print("  \(kind.rawValue): \(counts[kind]!)")
            }
            for diagnostic in catalog.diagnostics {
                print(diagnostic.description)
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
            let catalog: CompiledCatalog
            do {
                catalog = try options.load()
            } catch {
                printError("error: \(error.errorSummary)")
                throw ExitCode(2)
            }
            let pathOnly = String(path.prefix { $0 != "?" && $0 != "#" })
            guard let method = RouteMethod(rawValue: method.uppercased()),
                let found = catalog.match(method: method, path: pathOnly)
            else {
                var error = JSONLine()
                error.add("code", "route_unknown")
                error.add("message", "no HighLevel route matches \(method.uppercased()) \(pathOnly)")
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
            print(line.text)
        }
    }
}

/// The compiled catalog as `scopes compile --json` prints it.
private struct CatalogDump: Encodable {
    let routes: [CatalogRoute]
    let scopes: [String]
    let events: [String: [String]]
    let diagnostics: [CatalogDiagnostic]

    init(_ catalog: CompiledCatalog) {
        routes = catalog.routes
        scopes = catalog.scopes
        events = catalog.events
        diagnostics = catalog.diagnostics
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

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
