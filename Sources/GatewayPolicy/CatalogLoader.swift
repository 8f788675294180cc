import Foundation
import ScopeCatalog

/// Loads the catalog an admin maintains in `policies/`: the pasted scopes table plus its overrides.
package enum CatalogLoader {
    package static let defaultTablePath = "policies/highlevel-scopes.md"
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

    /// Reads and compiles both files. A missing overrides file is an error only when it was asked for
    /// explicitly (`overridesRequired`), so a bare table still compiles.
    package static func load(
        tablePath: String = defaultTablePath, overridesPath: String = defaultOverridesPath, overridesRequired: Bool = false
    ) throws(LoadError) -> CompiledCatalog {
        let tableText = try read(tablePath)
        var overridesText: String?
        if overridesRequired || FileManager.default.fileExists(atPath: overridesPath) {
            overridesText = try read(overridesPath)
        }
        return try compile(table: tableText, tableFile: tablePath, overrides: overridesText, overridesFile: overridesPath)
    }

    /// Compiles texts already in memory (tests, and callers that watch the files themselves).
    package static func compile(
        table: String, tableFile: String, overrides: String?, overridesFile: String
    ) throws(LoadError) -> CompiledCatalog {
        let scopeTable = ScopeTable(parsing: table, file: tableFile)
        let parsed = overrides.map { CatalogOverridesFile.parse($0, file: overridesFile) } ?? (overrides: [], problems: [])
        guard parsed.problems.isEmpty else {
            throw .invalid(CatalogError(diagnostics: scopeTable.diagnostics + parsed.problems))
        }
        do throws(CatalogError) {
            return try CompiledCatalog(table: scopeTable, overrides: parsed.overrides)
        } catch {
            throw .invalid(error)
        }
    }

    private static func read(_ path: String) throws(LoadError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw .unreadable(path: path, reason: reason)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return text
    }
}
