import Foundation
import GatewayPolicy
import ScopeCatalog
import Yams

/// The keys of a gateway configuration that say where `serve` loads its policies from
/// (`policies_dir`, `catalog.openapi_dir`, `catalog.prefer`), read without the rest of the file, so
/// `policy check --config` needs none of the production secrets the file names.
struct PolicyPaths {
    var policiesDir = "policies"
    var openAPIDirectory: String?
    var prefer: CatalogSource.Preference?

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(configuration path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Invalid(description: "cannot read \(path)")
        }
        guard let top = try Yams.load(yaml: text) as? [String: Any] else { throw Invalid(description: "\(path): not a YAML mapping") }
        func value(_ raw: Any?, _ key: String) throws -> String? {
            guard let raw else { return nil }
            guard let text = raw as? String else { throw Invalid(description: "\(path): \(key) must be a string") }
            do {
                return try SecretReference.resolve(text, environment: ProcessInfo.processInfo.environment)?.value ?? text
            } catch {
                throw Invalid(description: "\(path): \(key): \(error)")
            }
        }
        if let dir = try value(top["policies_dir"], "policies_dir") { policiesDir = dir }
        let catalog = top["catalog"] as? [String: Any]
        openAPIDirectory = try value(catalog?["openapi_dir"], "catalog.openapi_dir")
        if let text = try value(catalog?["prefer"], "catalog.prefer") {
            guard let preference = CatalogSource.Preference(rawValue: text) else {
                throw Invalid(description: "\(path): catalog.prefer must be table or openapi")
            }
            prefer = preference
        }
    }
}
