import Foundation
import GatewayPolicy
import ScopeCatalog

/// A tool for one of the commonest calls, so an agent need not search for it: its arguments are
/// laid out as one `execute_operation` (path ids filled in, the rest as query or body), and it is
/// listed only to a client whose policy allows its route.
struct MCPNamedTool: Sendable {
    enum LocationPlace: Sendable {
        case headerOnly
        case body
        case query(String)
    }

    let name: String
    let description: String
    let method: String
    /// The catalog's template, `:name` for each path parameter.
    let template: String
    /// Arguments that are path parameters, beside `locationId` (always required).
    let pathParameters: [String]
    /// Arguments sent as query parameters: argument name → query name.
    let query: [String: String]
    /// Arguments sent in the JSON body.
    let body: [String]
    /// Where HighLevel wants the location besides `X-Location-Id`.
    let location: LocationPlace
    /// JSON Schema of each argument but `locationId`.
    let properties: [String: JSONValue]
    let required: [String]

    static let all: [MCPNamedTool] = [
        MCPNamedTool(
            name: "get_contact", description: "Read one contact of a location by its id.", method: "GET", template: "/contacts/:contactId",
            pathParameters: ["contactId"], query: [:], body: [], location: .headerOnly, properties: ["contactId": ["type": "string"]],
            required: ["contactId"]),
        MCPNamedTool(
            name: "search_contacts", description: "Search a location's contacts by free text (name, email, phone).", method: "POST",
            template: "/contacts/search", pathParameters: [], query: [:], body: ["query", "pageLimit"], location: .body,
            properties: [
                "query": ["type": "string"], "pageLimit": ["type": "integer", "description": "At most this many contacts (HighLevel's default 20)."],
            ],
            required: []),
        MCPNamedTool(
            name: "create_contact", description: "Create a contact in a location.", method: "POST", template: "/contacts/", pathParameters: [],
            query: [:], body: ["firstName", "lastName", "name", "email", "phone", "tags"], location: .body,
            properties: [
                "firstName": ["type": "string"], "lastName": ["type": "string"], "name": ["type": "string"], "email": ["type": "string"],
                "phone": ["type": "string"], "tags": ["type": "array", "items": ["type": "string"]],
            ], required: []),
        MCPNamedTool(
            name: "send_message", description: "Send a message (SMS, Email, WhatsApp, ...) to a contact of a location.", method: "POST",
            template: "/conversations/messages", pathParameters: [], query: [:], body: ["type", "contactId", "message", "subject"],
            location: .headerOnly,
            properties: [
                "type": ["type": "string", "description": "SMS, Email, WhatsApp, IG, FB, Custom or Live_Chat."], "contactId": ["type": "string"],
                "message": ["type": "string"], "subject": ["type": "string", "description": "For an email."],
            ], required: ["type", "contactId"]),
        MCPNamedTool(
            name: "list_opportunities", description: "List or search a location's opportunities.", method: "GET",
            template: "/opportunities/search", pathParameters: [], query: ["query": "q", "pipelineId": "pipeline_id", "limit": "limit"], body: [],
            location: .query("location_id"),
            properties: ["query": ["type": "string"], "pipelineId": ["type": "string"], "limit": ["type": "integer"]], required: []),
    ]

    /// The tool as `tools/list` shows it.
    var definition: JSONValue {
        var properties = self.properties
        properties["locationId"] = ["type": "string", "description": "The location (sub-account) acted on."]
        if method != "GET" {
            properties["confirm"] = ["type": "boolean", "description": "Must be true when the policy marks this call destructive."]
        }
        return [
            "name": .string(name), "description": .string(description + " (\(method) \(template) through the gateway.)"),
            "inputSchema": [
                "type": "object", "properties": .object(properties), "required": .array((["locationId"] + required).map(JSONValue.string)),
            ],
            "annotations": ["readOnlyHint": .bool(method == "GET")],
        ]
    }

    /// The catalog's route for this tool, when the catalog has it (looked up as a policy's route
    /// rule is: `/contacts/` is the catalog's `/contacts`).
    func route(in catalog: CompiledCatalog) -> CatalogRoute? {
        let spelled = template.count > 1 && template.hasSuffix("/") ? String(template.dropLast()) : template
        guard let method = RouteMethod(rawValue: method), let template = try? RouteTemplate(spelled) else { return nil }
        return catalog.route(method: method, template: template)
    }

    /// `execute_operation`'s arguments for these, or what is missing.
    func operation(_ arguments: [String: JSONValue]) -> Result<[String: JSONValue], JSONRPC.Failure> {
        guard let location = arguments["locationId"]?.string else { return .failure(.invalidParams("locationId is required")) }
        if let missing = required.first(where: { arguments[$0] == nil }) { return .failure(.invalidParams("\(missing) is required")) }
        var path = template
        for parameter in pathParameters {
            guard let value = arguments[parameter]?.string, !value.isEmpty,
                let segment = value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/", ";"]))
            else { return .failure(.invalidParams("\(parameter) must be a non-empty string")) }
            path = path.replacingOccurrences(of: ":" + parameter, with: segment)
        }
        var body = arguments.filter { self.body.contains($0.key) }
        var query = Dictionary(uniqueKeysWithValues: self.query.compactMap { argument, name in arguments[argument].map { (name, $0) } })
        switch self.location {
        case .headerOnly: break
        case .body: body["locationId"] = .string(location)
        case .query(let name): query[name] = .string(location)
        }
        var operation: [String: JSONValue] = ["method": .string(method), "path": .string(path), "locationId": .string(location)]
        if !query.isEmpty { operation["query"] = .object(query) }
        if method != "GET" { operation["body"] = .object(body) }
        if let confirm = arguments["confirm"] { operation["confirm"] = confirm }
        return .success(operation)
    }
}
