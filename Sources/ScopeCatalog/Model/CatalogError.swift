/// Why a catalog did not compile. Carries every diagnostic, errors and the rest, so a caller can
/// show the admin the whole picture at once.
package struct CatalogError: Error, Sendable, CustomStringConvertible {
    package let diagnostics: [CatalogDiagnostic]

    package init(diagnostics: [CatalogDiagnostic]) {
        self.diagnostics = diagnostics
    }

    package var errors: [CatalogDiagnostic] { diagnostics.filter { $0.severity == .error } }

    package var description: String {
        let errors = self.errors
        return "the scope catalog has \(errors.count) error(s):\n" + errors.map(\.description).joined(separator: "\n")
    }
}
