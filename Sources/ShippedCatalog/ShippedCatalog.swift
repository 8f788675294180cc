/// The catalog files this release ships (`policies/highlevel-scopes.md`,
/// `policies/catalog-overrides.yaml`, `policies/openapi/*.json`), built into the binary by the
/// `EmbedShippedCatalog` plugin: the gateway and its commands work from any folder, and a
/// `policies_dir` (or `--policies`) that holds its own copy of a file overrides the built-in one.
package enum ShippedCatalog {
    /// Names the built-in files carry in messages and diagnostics.
    package static let tablePath = "<built-in>/highlevel-scopes.md"
    package static let overridesPath = "<built-in>/catalog-overrides.yaml"
    package static let openAPIDirectory = "<built-in>/openapi"

    /// The scopes table.
    package static var table: String { tableText }
    /// The overrides (route corrections and webhook events).
    package static var overrides: String { overridesText }
    /// HighLevel's OpenAPI specs, by file name, sorted.
    package static var specs: [(name: String, text: String)] { specTexts }
}
