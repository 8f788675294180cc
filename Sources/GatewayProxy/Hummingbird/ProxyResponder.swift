import GatewayRuntime
import HTTPTypes
import Hummingbird
import NIOCore

/// The proxy listener's Hummingbird entry point, for what the fast path hands over (a request
/// with a body, HTTP/1.0, `Connection: close`): it reads the body when the pipeline asks and
/// streams HighLevel's answer back. The stages, errors and log line are `ProxyPipeline`'s.
package struct ProxyResponder: HTTPResponder {
    package typealias Context = ProxyRequestContext

    let pipeline: ProxyPipeline

    package init(pipeline: ProxyPipeline) {
        self.pipeline = pipeline
    }

    package func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let requestId = RequestID.of(request.headers)
        var entry = AccessLogEntry(requestId: requestId, method: request.method.rawValue)
        var response: Response
        do {
            response = try await forward(request, requestId: requestId, on: context.eventLoop, entry: &entry)
        } catch {
            pipeline.refuse(error, entry: &entry)
            response = error.response(requestId: requestId)
        }
        response.headers[RequestID.header] = requestId
        pipeline.finish(&entry, status: response.status.code, started: started)
        return response
    }

    private func forward(
        _ request: Request, requestId: String, on loop: any EventLoop, entry: inout AccessLogEntry
    ) async throws(GatewayError) -> Response {
        let proxied = ProxyPipeline.Request(
            method: request.method, path: request.head.path ?? "", headers: request.headers, requestId: requestId)
        let upstream = try await pipeline.run(proxied, on: loop, entry: &entry) { () async throws(GatewayError) in
            try await readBody(request)
        }
        let body: ResponseBody
        switch upstream.body {
        case .buffered(let buffer): body = buffer.map { ResponseBody(byteBuffer: $0) } ?? ResponseBody()
        case .streamed(let stream): body = ResponseBody(asyncSequence: stream)
        }
        return Response(
            status: .init(code: Int(upstream.head.status.code), reasonPhrase: upstream.head.status.reasonPhrase),
            headers: HopByHopHeaders.downstreamResponse(upstream.head.headers), body: body)
    }

    /// Reads the body as the stages planned it: whole when HighLevel parses it (for its target) or small (for a
    /// replay), else streamed.
    private func readBody(_ request: Request) async throws(GatewayError) -> (UpstreamForwarder.Payload, BodyTarget?) {
        let stages = pipeline.stages
        let plan = try stages.bodyPlan(request.headers)
        switch plan {
        case .none:
            return (.empty, nil)
        case .inspect(let body, let limit):
            let buffer = try await collect(request, upTo: limit, plan)
            return (.buffered(buffer), try stages.target(of: body, bytes: Array(buffer.readableBytesView)))
        case .buffer(let length):
            return (.buffered(try await collect(request, upTo: length, plan)), nil)
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
