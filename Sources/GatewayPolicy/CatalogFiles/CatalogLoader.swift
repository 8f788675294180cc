import Foundation
import ScopeCatalog
import ShippedCatalog

/// Loads the catalog an admin maintains in `policies/`: the pasted scopes table, HighLevel's
/// OpenAPI specifications, and the overrides. Where no table is there, the catalog built into the
/// binary (`ShippedCatalog`) is used, whole: its table, its overrides and its specs (unless an
/// OpenAPI directory that exists is named), so the commands work from any folder.
package enum CatalogLoader {
    package static let defaultTablePath = "policies/highlevel-scopes.md"
    package static let defaultOpenAPIDirectory = "policies/openapi"
    package static let defaultOverridesPath = "policies/catalog-overrides.yaml"

    package enum LoadError: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case invalid(CatalogError)

        package var description: String {
            switch self {
            case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
            case .invalid(let error): error.description
            }
        }
    }

    /// The catalog's files, read.
    package struct Sources: Sendable {
        package var table: (path: String, text: String)
        /// `*.json` of the OpenAPI directory, read, sorted by name.
        package var specs: [OpenAPISpec] = []
        package var overrides: (path: String, text: String)?

        package init(table: (path: String, text: String), specs: [OpenAPISpec] = [], overrides: (path: String, text: String)? = nil) {
            self.table = table
            self.specs = specs
            self.overrides = overrides
        }
    }

    /// Reads and compiles the files. A missing OpenAPI directory or overrides file is an error only
    /// when it was asked for explicitly, so a bare table still compiles; no directory, no specs.
    package static func load(
        tablePath: String = defaultTablePath, openAPIDirectory: String? = nil, openAPIRequired: Bool = false,
        overridesPath: String = defaultOverridesPath, overridesRequired: Bool = false, prefer: CatalogSource.Preference = .table
    ) throws(LoadError) -> CompiledCatalog {
        if tablePath == defaultTablePath, !FileManager.default.fileExists(atPath: tablePath) {
            var sources = try builtIn(openAPIDirectory: openAPIDirectory, required: openAPIRequired)
            if overridesRequired { sources.overrides = (overridesPath, try text(overridesPath)) }
            return try compile(sources, prefer: prefer)
        }
        var sources = Sources(table: (tablePath, try text(tablePath)))
        if let openAPIDirectory {
            sources.specs = try specFiles(in: openAPIDirectory, required: openAPIRequired)
        }
        if overridesRequired || FileManager.default.fileExists(atPath: overridesPath) {
            sources.overrides = (overridesPath, try text(overridesPath))
        }
        return try compile(sources, prefer: prefer)
    }

    /// Compiles files already in memory (tests, and callers that watch the files themselves).
    package static func compile(_ sources: Sources, prefer: CatalogSource.Preference = .table) throws(LoadError) -> CompiledCatalog {
        let scopeTable = ScopeTable(parsing: sources.table.text, file: sources.table.path)
        let parsed = sources.overrides.map { CatalogOverridesFile.parse($0.text, file: $0.path) } ?? CatalogOverridesFile.Parsed()
        guard parsed.problems.isEmpty else {
            throw .invalid(CatalogError(diagnostics: scopeTable.diagnostics + parsed.problems))
        }
        do throws(CatalogError) {
            return try CompiledCatalog(
                table: scopeTable, specs: sources.specs, overrides: parsed.overrides, events: parsed.events, prefer: prefer)
        } catch {
            throw .invalid(error)
        }
    }

    /// The catalog built into the binary; its specs are `openAPIDirectory`'s instead when that
    /// exists (or must: `required`).
    package static func builtIn(openAPIDirectory: String? = nil, required: Bool = false) throws(LoadError) -> Sources {
        var sources = Sources(
            table: (ShippedCatalog.tablePath, ShippedCatalog.table), overrides: (ShippedCatalog.overridesPath, ShippedCatalog.overrides))
        if let openAPIDirectory, required || FileManager.default.fileExists(atPath: openAPIDirectory) {
            sources.specs = try specFiles(in: openAPIDirectory, required: required)
        } else {
            sources.specs = builtInSpecs()
        }
        return sources
    }

    /// The OpenAPI specs built into the binary, parsed.
    package static func builtInSpecs() -> [OpenAPISpec] {
        ShippedCatalog.specs.map { OpenAPISpec(parsing: Array($0.text.utf8), file: ShippedCatalog.openAPIDirectory + "/" + $0.name) }
    }

    /// The paths of the `*.json` files directly in `directory`, sorted.
    package static func specPaths(in directory: String) throws(LoadError) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw .unreadable(path: directory, reason: "not a readable directory")
        }
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted().map { base + $0 }
    }

    /// The specs of `directory`, each read and parsed before the next is read, so only one file's
    /// bytes are in memory at a time (together they are megabytes the catalog does not keep).
    /// A missing directory is no specs unless `required`.
    package static func specFiles(in directory: String, required: Bool = false) throws(LoadError) -> [OpenAPISpec] {
        if !required, !FileManager.default.fileExists(atPath: directory) { return [] }
        var specs: [OpenAPISpec] = []
        for path in try specPaths(in: directory) {
            specs.append(OpenAPISpec(parsing: Array(try data(path)), file: path))
        }
        return specs
    }

    private static func text(_ path: String) throws(LoadError) -> String {
        guard let text = String(data: try data(path), encoding: .utf8) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }

    private static func data(_ path: String) throws(LoadError) -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw .unreadable(path: path, reason: reason)
        }
        return data
    }
}
