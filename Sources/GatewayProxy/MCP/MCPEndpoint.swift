import Foundation
import GatewayRuntime
import HTTPTypes
import Hummingbird
import NIOCore

/// `POST /mcp` on the proxy listener: MCP's Streamable HTTP transport, answered with JSON. The
/// caller is a client of the policies, authenticated by its gateway key like any proxied call;
/// a request carrying `Origin` (a browser page, which could be a DNS-rebinding attack) is refused.
struct MCPEndpoint: Sendable {
    static let path = "/mcp"
    /// The largest JSON-RPC message accepted.
    static let maxMessageBytes = 1 << 20

    let pipeline: ProxyPipeline
    let dispatcher: MCPDispatcher

    init(pipeline: ProxyPipeline) {
        self.pipeline = pipeline
        self.dispatcher = MCPDispatcher(tools: MCPTools(pipeline: pipeline))
    }

    /// Whether a request target is this endpoint's (with or without a query).
    static func handles(_ target: String) -> Bool {
        target == path || target.hasPrefix(path + "?")
    }

    func respond(to request: Request, context: ProxyRequestContext) async -> Response {
        let requestId = RequestID.of(request.headers)
        guard request.headers[.origin] == nil else {
            return Self.json(403, JSONRPC.response(id: .null, error: .invalidRequest("requests from a browser page (Origin) are refused")))
        }
        guard request.method == .post else {
            var response = Self.json(
                405, JSONRPC.response(id: .null, error: .invalidRequest("MCP is POST /mcp: this server offers no stream to GET and keeps no session"))
            )
            response.headers[.allow] = "POST"
            return response
        }
        let snapshot = pipeline.store.snapshot
        var recent: CallerAuthenticator.Recent?
        let client: CallerAuthenticator.Caller
        do {
            client = try pipeline.authenticator.authenticate(request.headers, policies: snapshot.policies, recent: &recent)
        } catch {
            return error.response(requestId: requestId)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxMessageBytes)
        } catch {
            return GatewayError(.payloadTooLarge, "an MCP message is at most \(Self.maxMessageBytes) bytes").response(requestId: requestId)
        }
        switch JSONRPC.parse(body) {
        case .failure(let failure):
            return Self.json(400, JSONRPC.response(id: .null, error: failure))
        case .success(.notification), .success(.response):
            return Response(status: .accepted)
        case .success(.request(let id, let method, let params)):
            let caller = MCPTools.Caller(
                client: client.policy, key: client.digest, requestId: requestId, authorization: request.headers[.authorization] ?? "",
                catalog: snapshot.catalog, loop: context.eventLoop)
            return Self.json(200, await dispatcher.answer(id: id, method: method, params: params, headers: request.headers, caller: caller))
        }
    }

    private static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.text)))
    }
}
