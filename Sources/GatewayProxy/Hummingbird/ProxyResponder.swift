import GatewayRuntime
import HTTPTypes
import Hummingbird
import NIOCore

/// The proxy listener's Hummingbird entry point, for what the fast path hands over (a request
/// with a body, HTTP/1.0, `Connection: close`): it reads the body when the pipeline asks and
/// streams HighLevel's answer back. The stages, errors and log line are its `ProxyExchange`'s.
/// `POST /mcp` is the MCP endpoint's (`MCPEndpoint`).
package struct ProxyResponder: HTTPResponder {
    package typealias Context = ProxyRequestContext

    let pipeline: ProxyPipeline
    let mcp: MCPEndpoint

    package init(pipeline: ProxyPipeline) {
        self.pipeline = pipeline
        self.mcp = MCPEndpoint(pipeline: pipeline)
    }

    package func respond(to request: Request, context: Context) async throws -> Response {
        if request.uri.path == MCPEndpoint.path { return await mcp.respond(to: request, context: context) }
        let requestId = RequestID.of(request.headers)
        var exchange = ProxyExchange(
            .init(method: request.method, path: request.head.path ?? "", headers: request.headers, requestId: requestId), pipeline: pipeline)
        var memo = ConnectionMemo()
        let action = exchange.start(memo: &memo, readsBody: true)
        var response: Response
        switch await pipeline.carry(
            action, &exchange, on: context.eventLoop, readBody: { plan async throws(GatewayError) in try await readBody(request, plan) })
        {
        case .success(let upstream):
            let body: ResponseBody
            switch upstream.body {
            case .buffered(let buffer): body = buffer.map { ResponseBody(byteBuffer: $0) } ?? ResponseBody()
            case .streamed(let stream): body = ResponseBody(asyncSequence: stream)
            }
            response = Response(
                status: .init(code: Int(upstream.head.status.code), reasonPhrase: upstream.head.status.reasonPhrase),
                headers: HopByHopHeaders.downstreamResponse(upstream.head.headers), body: body)
        case .failure(let error):
            response = error.response(requestId: requestId)
        }
        response.headers[RequestID.header] = requestId
        pipeline.finish(exchange.finish(status: response.status.code))
        return response
    }

    /// Reads the body as the stages planned it: whole when HighLevel parses it (for its target) or small (for a
    /// replay), else streamed.
    private func readBody(_ request: Request, _ plan: ProxyStages.BodyPlan) async throws(GatewayError) -> (UpstreamForwarder.Payload, BodyTarget?) {
        switch plan {
        case .none:
            return (.empty, nil)
        case .inspect(_, let limit):
            return try pipeline.stages.payload(try await collect(request, upTo: limit, plan), plan)
        case .buffer(let length):
            return try pipeline.stages.payload(try await collect(request, upTo: length, plan), plan)
        case .stream(let length):
            return (.streamed(request.body, length: length), nil)
        }
    }

    private func collect(_ request: Request, upTo limit: Int, _ plan: ProxyStages.BodyPlan) async throws(GatewayError) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw pipeline.stages.overrun(plan)
        }
    }
}
