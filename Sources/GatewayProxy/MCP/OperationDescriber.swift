import Foundation
import ScopeCatalog
import ShippedCatalog

/// `describe_operation`'s answer: an operation's summary, parameters and JSON body schema, read
/// from the OpenAPI spec the catalog took the route from (the built-in specs or the policies
/// folder's), `$ref`s into its `components` resolved a few levels deep.
enum OperationDescriber {
    /// A spec larger than this is not read.
    static let maxSpecBytes = 8 << 20
    /// How deep `$ref`s are followed, and how many values at most; past either, references stay.
    static let maxDepth = 4
    static let maxNodes = 5_000
    /// Headers every call carries, which the gateway sets: not shown.
    private static let gatewayHeaders: Set<String> = ["version", "authorization"]

    /// The description, or nil when no OpenAPI spec documents the route.
    static func describe(_ route: CatalogRoute) -> JSONValue? {
        for location in route.definedAt where location.file.hasSuffix(".json") {
            guard let document = document(at: location.file), let operation = operation(route, in: document) else { continue }
            return summary(route, operation, document)
        }
        return nil
    }

    private static func document(at file: String) -> JSONValue? {
        let data: Data?
        if file.hasPrefix(ShippedCatalog.openAPIDirectory + "/") {
            let name = String(file.dropFirst(ShippedCatalog.openAPIDirectory.count + 1))
            data = ShippedCatalog.specs.first { $0.name == name }.map { Data($0.text.utf8) }
        } else {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
            data = (size ?? .max) <= maxSpecBytes ? FileManager.default.contents(atPath: file) : nil
        }
        return data.flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) }
    }

    /// The operation object whose path has the route's shape (parameter names aside).
    private static func operation(_ route: CatalogRoute, in document: JSONValue) -> JSONValue? {
        let wanted = shape(route.templateText)
        let method = route.method.rawValue.lowercased()
        for (path, item) in document["paths"]?.object ?? [:] where shape(path) == wanted {
            if let operation = item[method] { return operation }
        }
        return nil
    }

    /// A template with its parameters erased and no trailing slash: `/contacts/{id}/` and `/contacts/:contactId` are one shape.
    private static func shape(_ template: String) -> [String] {
        template.split(separator: "/").map { segment in segment.hasPrefix(":") || segment.hasPrefix("{") ? ":" : String(segment) }
    }

    private static func summary(_ route: CatalogRoute, _ operation: JSONValue, _ document: JSONValue) -> JSONValue {
        var result: [String: JSONValue] = [
            "method": .string(route.method.rawValue), "path": .string(route.templateText), "scopes": .array(route.scopes.map(JSONValue.string)),
        ]
        if let summary = operation["summary"]?.string { result["summary"] = .string(summary) }
        if let description = operation["description"]?.string { result["description"] = .string(String(description.prefix(2000))) }
        var budget = maxNodes
        let parameters: [JSONValue] = (operation["parameters"].flatMap { if case .array(let items) = $0 { items } else { nil } } ?? [])
            .map { resolved($0, document, depth: 0, budget: &budget) }
            .filter { !gatewayHeaders.contains(($0["name"]?.string ?? "").lowercased()) }
            .map { parameter in
                var kept: [String: JSONValue] = [:]
                for key in ["name", "in", "required", "description", "schema"] { kept[key] = parameter[key] }
                return .object(kept)
            }
        result["parameters"] = .array(parameters)
        if let requestBody = operation["requestBody"] {
            let body = resolved(requestBody, document, depth: 0, budget: &budget)
            if let schema = body["content"]?["application/json"]?["schema"] { result["body"] = schema }
        }
        return .object(result)
    }

    /// `value` with local `$ref`s (`#/components/...`) replaced by what they name: at most
    /// `maxDepth` references deep and `maxNodes` values in all (a wide or recursive schema stops
    /// at references).
    private static func resolved(_ value: JSONValue, _ document: JSONValue, depth: Int, budget: inout Int) -> JSONValue {
        budget -= 1
        switch value {
        case .object(let object):
            if let reference = object["$ref"]?.string, reference.hasPrefix("#/") {
                guard depth < maxDepth, budget > 0 else { return value }
                let target = reference.dropFirst(2).split(separator: "/").reduce(Optional(document)) { node, key in node?[String(key)] }
                return target.map { resolved($0, document, depth: depth + 1, budget: &budget) } ?? value
            }
            var copy: [String: JSONValue] = [:]
            for (key, item) in object { copy[key] = resolved(item, document, depth: depth, budget: &budget) }
            return .object(copy)
        case .array(let items):
            var copy: [JSONValue] = []
            for item in items { copy.append(resolved(item, document, depth: depth, budget: &budget)) }
            return .array(copy)
        default:
            return value
        }
    }
}
