import Foundation
import PackagePlugin

/// Builds the shipped catalog (`policies/highlevel-scopes.md`, `policies/catalog-overrides.yaml`,
/// `policies/openapi/*.json`) into the `ShippedCatalog` target as Swift source, so the binary
/// carries it and runs from any folder; the files stay the one copy, in `policies/`.
@main
struct EmbedShippedCatalog: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let policies = context.package.directoryURL.appending(path: "policies")
        let specs =
            (try? FileManager.default.contentsOfDirectory(
                at: policies.appending(path: "openapi"), includingPropertiesForKeys: nil)) ?? []
        let inputs =
            [policies.appending(path: "highlevel-scopes.md"), policies.appending(path: "catalog-overrides.yaml")]
            + specs.filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "ShippedCatalog+Files.swift")
        return [
            .buildCommand(
                displayName: "Embedding the shipped catalog (\(inputs.count) files)",
                executable: try context.tool(named: "ShippedCatalogEmbedder").url,
                arguments: [output.path] + inputs.map(\.path), inputFiles: inputs, outputFiles: [output])
        ]
    }
}
