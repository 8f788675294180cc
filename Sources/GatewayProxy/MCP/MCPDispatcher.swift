import GatewayRuntime
import HTTPTypes

/// MCP's methods for one authenticated request, in both eras the gateway speaks: 2025-11-25 (and
/// 2025-06-18), with the `initialize` handshake, and 2026-07-28, stateless, each request naming
/// its version in `_meta`. Nothing is kept between requests (no session, nothing keyed by a
/// JSON-RPC id), so two callers reusing an id never meet.
struct MCPDispatcher: Sendable {
    static let handshakeVersions = ["2025-06-18", "2025-11-25"]
    static let modernVersions = ["2026-07-28"]
    static let versionKey = "io.modelcontextprotocol/protocolVersion"
    static let versionHeader = HTTPField.Name("MCP-Protocol-Version")!
    static let serverInfo: JSONValue = ["name": "ghl-gateway", "version": .string(GatewayVersion.current)]
    static let capabilities: JSONValue = ["tools": ["listChanged": false]]
    static let instructions =
        "HighLevel's API through the company's gateway: search_operations finds what this client may call, execute_operation calls it."

    let tools: MCPTools

    /// The response to one request.
    func answer(id: JSONValue, method: String, params: JSONValue?, headers: HTTPFields, caller: MCPTools.Caller) async -> JSONValue {
        let modern: Bool
        switch Self.era(params, headers) {
        case .failure(let failure): return JSONRPC.response(id: id, error: failure)
        case .success(let isModern): modern = isModern
        }
        let result: Result<JSONValue, JSONRPC.Failure>
        switch method {
        case "initialize": result = Self.initialize(params)
        case "server/discover":
            result = .success([
                "supportedVersions": .array((Self.handshakeVersions + Self.modernVersions).map(JSONValue.string)), "capabilities": Self.capabilities,
                "instructions": .string(Self.instructions),
            ])
        case "ping": result = .success([:])
        case "tools/list": result = .success(["tools": .array(MCPTools.list(for: caller.client, catalog: caller.catalog))])
        case "tools/call": result = await call(params, caller)
        default: result = .failure(.methodNotFound(method))
        }
        switch result {
        case .failure(let failure):
            return JSONRPC.response(id: id, error: failure)
        case .success(let value):
            guard modern, case .object(var object) = value else { return JSONRPC.response(id: id, result: value) }
            object["resultType"] = "complete"
            object["_meta"] = ["io.modelcontextprotocol/serverInfo": Self.serverInfo]
            if method == "tools/list" || method == "server/discover" {
                object["ttlMs"] = 0
                object["cacheScope"] = "private"
            }
            return JSONRPC.response(id: id, result: .object(object))
        }
    }

    /// Whether the request is of the stateless era (its `_meta` names a version), and that version one this server speaks.
    private static func era(_ params: JSONValue?, _ headers: HTTPFields) -> Result<Bool, JSONRPC.Failure> {
        guard let requested = params?["_meta"]?[versionKey] else { return .success(false) }
        guard let version = requested.string, modernVersions.contains(version) else {
            return .failure(.unsupportedVersion(requested.string ?? requested.text, supported: handshakeVersions + modernVersions))
        }
        if let header = headers[versionHeader], header != version {
            return .failure(.headerMismatch("MCP-Protocol-Version says \(header) but the request says \(version)"))
        }
        return .success(true)
    }

    /// The handshake: the client's version when this server speaks it, else the latest it does.
    private static func initialize(_ params: JSONValue?) -> Result<JSONValue, JSONRPC.Failure> {
        guard let requested = params?["protocolVersion"]?.string else { return .failure(.invalidParams("initialize needs a protocolVersion")) }
        let version = handshakeVersions.contains(requested) ? requested : handshakeVersions[handshakeVersions.count - 1]
        return .success([
            "protocolVersion": .string(version), "capabilities": capabilities, "serverInfo": serverInfo, "instructions": .string(instructions),
        ])
    }

    private func call(_ params: JSONValue?, _ caller: MCPTools.Caller) async -> Result<JSONValue, JSONRPC.Failure> {
        guard let name = params?["name"]?.string else { return .failure(.invalidParams("tools/call needs the tool's name")) }
        let arguments = params?["arguments"]
        guard arguments == nil || arguments?.object != nil else { return .failure(.invalidParams("arguments must be an object")) }
        guard MCPTools.names(for: caller.client, catalog: caller.catalog).contains(name) else {
            tools.keep(String(name.prefix(100)), decision: "deny", caller: caller)
            return .failure(.invalidParams("no tool named \(name) for this client: see tools/list"))
        }
        if !MCPTools.exchanges(name) { tools.keep(name, decision: "allow", caller: caller) }
        return .success(await tools.call(name, arguments: arguments?.object ?? [:], caller: caller))
    }
}
