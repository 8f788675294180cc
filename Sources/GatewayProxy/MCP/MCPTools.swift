import Foundation
import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import NIOCore
import ScopeCatalog
import TokenVault

/// The tools an agent sees: the compiled catalog searched, and any of its operations executed
/// through the same `ProxyExchange` as a proxied call, so an agent can do exactly what its
/// client's policy allows. A tool's failure is a result with `isError` (MCP's rule for errors an
/// agent can act on), never a protocol error.
struct MCPTools: Sendable {
    /// What one call of a tool needs: who calls (their own key, checked again by the exchange) and the catalog in force.
    struct Caller: Sendable {
        let client: ClientPolicy
        /// The presented key's digest and the MCP request's id, for the audit trail.
        let key: KeyDigest?
        let requestId: String
        let authorization: String
        let catalog: CompiledCatalog
        let loop: any EventLoop
    }

    /// The most of HighLevel's answer an agent is given; the rest is cut with a note.
    static let maxResultBytes = 64 * 1024
    static let maxSearchResults = 100

    let pipeline: ProxyPipeline

    /// The tools every client with an allowed route has.
    private static let general = [searchOperations, describeOperation, executeOperation, listLocations]
    private static let generalNames = general.compactMap { $0["name"]?.string }

    /// The tools `client` may use (`tools/list`): none for a client no route is allowed to; a
    /// named tool only when its route is allowed.
    static func list(for client: ClientPolicy, catalog: CompiledCatalog) -> [JSONValue] {
        namedTools(for: client, catalog: catalog).map { general + $0.map(\.definition) } ?? []
    }

    /// The names of the tools `client` may use, without their definitions (a call's check, `policy explain`).
    static func names(for client: ClientPolicy, catalog: CompiledCatalog) -> [String] {
        namedTools(for: client, catalog: catalog).map { generalNames + $0.map(\.name) } ?? []
    }

    /// The named tools whose route `client` is allowed; nil when no route at all is.
    private static func namedTools(for client: ClientPolicy, catalog: CompiledCatalog) -> [MCPNamedTool]? {
        guard catalog.routes.contains(where: { client.decide($0, target: RequestTarget()).allowed }) else { return nil }
        return MCPNamedTool.all.filter { tool in tool.route(in: catalog).map { client.decide($0, target: RequestTarget()).allowed } ?? false }
    }

    /// The tool's result, or a timeout result after `limits.mcp_call_seconds`: the agent is
    /// answered then, and the call is cancelled where it waits (HighLevel's budget, a token),
    /// ending within the proxy's own limits and logged as any request.
    func call(_ name: String, arguments: [String: JSONValue], caller: Caller) async -> JSONValue {
        let seconds = pipeline.stages.limits.mcpCallSeconds
        return await withCheckedContinuation { continuation in
            let answer = FirstAnswer(continuation)
            let work = Task { answer.give(await self.run(name, arguments: arguments, caller: caller)) }
            answer.arm(
                Task {
                    do {
                        try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                    } catch {
                        return
                    }
                    if answer.give(Self.failure("no answer within \(seconds) s (limits.mcp_call_seconds): try again, or ask for less")) {
                        work.cancel()
                    }
                })
        }
    }

    private func run(_ name: String, arguments: [String: JSONValue], caller: Caller) async -> JSONValue {
        switch name {
        case "search_operations": return search(arguments, caller)
        case "describe_operation": return describe(arguments, caller)
        case "execute_operation": return await execute(arguments, caller)
        case "list_locations": return await locations(caller)
        default:
            guard let tool = MCPNamedTool.all.first(where: { $0.name == name }) else { return Self.failure("no tool named \(name): see tools/list") }
            switch tool.operation(arguments) {
            case .failure(let failure): return Self.failure(failure.message)
            case .success(let operation): return await execute(operation, caller)
            }
        }
    }

    /// Whether a tool's call runs a `ProxyExchange` (which keeps its own audit entry).
    static func exchanges(_ name: String) -> Bool {
        name == "execute_operation" || MCPNamedTool.all.contains { $0.name == name }
    }

    /// A tool call that runs no exchange (a search, a description, the locations) or is refused
    /// before one, kept in the audit trail as `tool NAME`.
    func keep(_ tool: String, decision: String, caller: Caller) {
        guard let audit = pipeline.audit, audit.keeps(admin: false, allowed: decision == "allow") else { return }
        var record = AuditRecord(at: Date(), kind: .mcp, subject: "tool " + tool, decision: decision)
        record.client = caller.client.name
        record.keyPrefix = caller.key?.short
        record.requestId = caller.requestId
        if decision != "allow" { record.code = GatewayError.Code.policyDenied.rawValue }
        audit.record(record)
    }

    // MARK: list_locations

    static let listLocations: JSONValue = [
        "name": "list_locations",
        "description": "The locations (sub-accounts) this client may act on that have installed the app, with their company.",
        "inputSchema": ["type": "object", "properties": [:]],
        "annotations": ["readOnlyHint": true],
    ]

    private func locations(_ caller: Caller) async -> JSONValue {
        let installations: [Installation]
        do {
            installations = try await pipeline.tokens.broker.vault.installations()
        } catch {
            return Self.refusal(GatewayError(.tokenUnavailable, "the token store is unavailable; retry later"))
        }
        let locations: [(id: String, company: String?)] = installations.compactMap { installation in
            guard case .location(let id) = installation.owner, installation.status != .uninstalled, caller.client.locations.contains(id)
            else { return nil }
            return (id, installation.companyId)
        }.sorted { $0.id < $1.id }
        let lines = locations.map { "\($0.id)" + ($0.company.map { " (company \($0))" } ?? "") }
        let listed: [JSONValue] = locations.map { ["locationId": .string($0.id), "companyId": $0.company.map(JSONValue.string) ?? .null] }
        return Self.result(
            lines.isEmpty ? "no installed location this client may act on" : lines.joined(separator: "\n"),
            structured: ["locations": .array(listed)], isError: false)
    }

    // MARK: search_operations

    static let searchOperations: JSONValue = [
        "name": "search_operations",
        "description":
            "Find HighLevel API operations this client may call, by words in their method, path or scopes (e.g. \"contacts search\"). Returns method, path template and scopes; call one with execute_operation.",
        "inputSchema": [
            "type": "object",
            "properties": [
                "query": ["type": "string", "description": "Words to look for; every word must match."],
                "limit": ["type": "integer", "description": "At most this many operations (default 20, at most 100)."],
            ],
            "required": ["query"],
        ],
        "annotations": ["readOnlyHint": true],
    ]

    private func search(_ arguments: [String: JSONValue], _ caller: Caller) -> JSONValue {
        guard let query = arguments["query"]?.string else { return Self.failure("query (a string) is required") }
        let words = query.lowercased().split(whereSeparator: \.isWhitespace)
        let limit = min(Self.maxSearchResults, max(1, Int(arguments["limit"]?.number ?? 20)))
        let found = caller.catalog.routes.lazy.filter { route in
            let text = "\(route.method.rawValue) \(route.templateText) \(route.scopes.joined(separator: " "))".lowercased()
            return words.allSatisfy { text.contains($0) } && caller.client.decide(route, target: RequestTarget()).allowed
        }.prefix(limit)
        let operations: [JSONValue] = found.map { route in
            [
                "method": .string(route.method.rawValue), "path": .string(route.templateText),
                "scopes": .array(route.scopes.map(JSONValue.string)), "access": .array(route.access.map { .string($0.rawValue) }),
            ]
        }
        let lines = found.map { "\($0.method.rawValue) \($0.templateText) (scopes: \($0.scopes.joined(separator: ", ")))" }
        let text = lines.isEmpty ? "no operation this client may call matches '\(query)'" : lines.joined(separator: "\n")
        return Self.result(text, structured: ["operations": .array(operations)], isError: false)
    }

    // MARK: describe_operation

    static let describeOperation: JSONValue = [
        "name": "describe_operation",
        "description":
            "The parameters and JSON body schema of one HighLevel operation this client may call, from HighLevel's OpenAPI specs: give its method and path (a template from search_operations, or a path with ids).",
        "inputSchema": [
            "type": "object",
            "properties": [
                "method": ["type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]],
                "path": ["type": "string", "description": "e.g. /contacts/:contactId or /contacts/abc123."],
            ],
            "required": ["method", "path"],
        ],
        "annotations": ["readOnlyHint": true],
    ]

    private func describe(_ arguments: [String: JSONValue], _ caller: Caller) -> JSONValue {
        guard let method = arguments["method"]?.string?.uppercased(), let path = arguments["path"]?.string else {
            return Self.failure("method and path are required")
        }
        let route: CatalogRoute
        do {
            route = try pipeline.stages.route(method: method, path: path, catalog: caller.catalog).1.route
        } catch {
            return Self.refusal(error)
        }
        let decision = caller.client.decide(route, target: RequestTarget())
        guard decision.allowed else { return Self.failure("this client may not call \(route): \(decision.reason)") }
        guard let description = OperationDescriber.describe(route) else {
            return Self.result(
                "\(route) (scopes: \(route.scopes.joined(separator: ", "))): no OpenAPI spec describes its parameters",
                structured: ["method": .string(route.method.rawValue), "path": .string(route.templateText)], isError: false)
        }
        let text = description.text
        guard text.utf8.count <= Self.maxResultBytes else {
            return Self.result(
                String(decoding: text.utf8.prefix(Self.maxResultBytes), as: UTF8.self) + "\n[cut after \(Self.maxResultBytes) bytes]",
                structured: ["method": .string(route.method.rawValue), "path": .string(route.templateText), "truncated": true], isError: false)
        }
        return Self.result(text, structured: description, isError: false)
    }

    // MARK: execute_operation

    static let executeOperation: JSONValue = [
        "name": "execute_operation",
        "description":
            "Call one HighLevel API operation through the gateway, as the client's policy allows: the same checks, rate limits and token as a proxied call. A DELETE (and what the policy marks destructive) needs confirm: true.",
        "inputSchema": [
            "type": "object",
            "properties": [
                "method": ["type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]],
                "path": ["type": "string", "description": "The path with its ids filled in, e.g. /contacts/abc123."],
                "query": ["type": "object", "description": "Query parameters.", "additionalProperties": ["type": ["string", "number", "boolean"]]],
                "body": ["description": "The JSON body, for POST, PUT and PATCH."],
                "locationId": ["type": "string", "description": "The location (sub-account) acted on."],
                "companyId": ["type": "string", "description": "The company (agency) acted on."],
                "confirm": ["type": "boolean", "description": "Must be true for a DELETE and what the policy marks destructive."],
            ],
            "required": ["method", "path"],
        ],
        "annotations": ["destructiveHint": true, "openWorldHint": true],
    ]

    private func execute(_ arguments: [String: JSONValue], _ caller: Caller) async -> JSONValue {
        let request: ProxyExchange.Request
        let body: ByteBuffer?
        switch Self.request(arguments, authorization: caller.authorization) {
        case .failure(let refusal): return Self.failure(refusal.message)
        case .success(let built): (request, body) = built
        }
        if arguments["confirm"]?.bool != true,
            let route = try? pipeline.stages.route(method: request.method.rawValue, path: request.path, catalog: caller.catalog).1.route,
            caller.client.agents.needsConfirmation(route)
        {
            return Self.failure("\(route) changes data in HighLevel: call again with confirm: true if that is intended")
        }
        var exchange = ProxyExchange(request, pipeline: pipeline, viaMCP: true)
        var memo = ConnectionMemo()
        let first = exchange.start(memo: &memo, readsBody: body != nil)
        let stages = pipeline.stages
        let outcome = await pipeline.carry(first, &exchange, on: caller.loop) { plan throws(GatewayError) in
            try stages.payload(body ?? ByteBuffer(), plan)
        }
        switch outcome {
        case .failure(let error):
            pipeline.finish(exchange.finish(status: error.code.status))
            return Self.refusal(error)
        case .success(let answer):
            let status = Int(answer.head.status.code)
            let (text, truncated) = await Self.text(of: answer)
            pipeline.finish(exchange.finish(status: status))
            let note = truncated ? "\n[cut after \(Self.maxResultBytes) bytes: ask for less, e.g. with limit or a narrower query]" : ""
            return Self.result(
                "HTTP \(status)\n\(text)\(note)", structured: ["status": .number(Double(status)), "truncated": .bool(truncated)],
                isError: status >= 400)
        }
    }

    /// The proxied request the arguments describe, with the caller's own key.
    private static func request(
        _ arguments: [String: JSONValue], authorization: String
    ) -> Result<(ProxyExchange.Request, ByteBuffer?), JSONRPC.Failure> {
        guard let name = arguments["method"]?.string?.uppercased(), ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(name),
            let method = HTTPRequest.Method(name)
        else { return .failure(.invalidParams("method must be GET, POST, PUT, PATCH or DELETE")) }
        guard let path = arguments["path"]?.string, path.hasPrefix("/"), !path.contains("?") else {
            return .failure(.invalidParams("path must start with / and carry no query (give it as query)"))
        }
        var headers = HTTPFields()
        headers[.authorization] = authorization
        if let location = arguments["locationId"]?.string { headers[TargetResolver.locationHeader] = location }
        if let company = arguments["companyId"]?.string { headers[TargetResolver.companyHeader] = company }
        var body: ByteBuffer?
        if let json = arguments["body"], json != .null {
            guard method != .get else { return .failure(.invalidParams("a GET has no body")) }
            let buffer = ByteBuffer(string: json.text)
            headers[.contentType] = "application/json"
            headers[.contentLength] = String(buffer.readableBytes)
            body = buffer
        }
        let query = arguments["query"]?.object.map(Self.queryString) ?? ""
        let requestId = RequestID.make()
        headers[RequestID.header] = requestId
        return .success(
            (ProxyExchange.Request(method: method, path: query.isEmpty ? path : path + "?" + query, headers: headers, requestId: requestId), body))
    }

    /// `name=value` pairs, names sorted, each part percent-encoded but for RFC 3986's unreserved characters.
    static func queryString(_ parameters: [String: JSONValue]) -> String {
        func encoded(_ text: String) -> String {
            text.addingPercentEncoding(
                withAllowedCharacters: .init(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
        }
        func text(_ value: JSONValue) -> String? {
            switch value {
            case .string(let string): string
            case .bool(let bool): bool ? "true" : "false"
            case .number: value.text
            default: nil
            }
        }
        return parameters.keys.sorted().flatMap { name -> [String] in
            let values: [JSONValue] = if case .array(let items) = parameters[name] { items } else { [parameters[name] ?? .null] }
            return values.compactMap(text).map { "\(encoded(name))=\(encoded($0))" }
        }.joined(separator: "&")
    }

    /// HighLevel's answer as text, up to `maxResultBytes`.
    private static func text(of answer: UpstreamResponse) async -> (String, truncated: Bool) {
        var bytes = ByteBuffer()
        var truncated = false
        switch answer.body {
        case .buffered(let buffer):
            bytes = buffer ?? ByteBuffer()
        case .streamed(let stream):
            do {
                for try await chunk in stream {
                    var chunk = chunk
                    bytes.writeBuffer(&chunk)
                    if bytes.readableBytes > maxResultBytes { break }
                }
            } catch {
                truncated = true
            }
        }
        if bytes.readableBytes > maxResultBytes {
            truncated = true
            bytes = bytes.getSlice(at: bytes.readerIndex, length: maxResultBytes) ?? bytes
        }
        return (String(decoding: bytes.readableBytesView, as: UTF8.self), truncated)
    }

    private static func result(_ text: String, structured: JSONValue, isError: Bool) -> JSONValue {
        ["content": [["type": "text", "text": .string(text)]], "structuredContent": structured, "isError": .bool(isError)]
    }

    /// The gateway's refusal as a tool result: its code and message, for the agent to act on.
    private static func refusal(_ error: GatewayError) -> JSONValue {
        result(
            "refused (\(error.code.rawValue)): \(error.message)",
            structured: ["error": ["code": .string(error.code.rawValue), "message": .string(error.message)]], isError: true)
    }

    private static func failure(_ message: String) -> JSONValue {
        result(message, structured: ["error": ["code": "invalid_arguments", "message": .string(message)]], isError: true)
    }
}
