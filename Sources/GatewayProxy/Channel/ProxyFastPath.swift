import GatewayRuntime
import HTTPTypes
import HighLevelOAuth
import NIOCore
import NIOHTTP1
import ScopeCatalog

/// The proxy's common case, served in the connection's NIO pipeline below Hummingbird: every
/// HTTP/1.1 keep-alive request without a body runs its `ProxyExchange` from here and is answered
/// from here (HighLevel's answer or the exchange's refusal), with no conversion to and from
/// Hummingbird's types and, when the token is in memory, no task. What has a body (or is HTTP/1.0,
/// or closes) goes on to `ProxyResponder` untouched, which carries out the same exchange.
///
/// Its answers leave as bytes, head and body in one buffer, written at NIO's response encoder
/// (`wire`, that encoder's context) rather than through it: building NIO's heads and encoding them
/// cost more than a tenth of a request (callgrind, issue 29). Only a long answer, streamed on as
/// HighLevel sends it, goes through the encoder (which chunks it when its length is unknown). `ConnectionGuard`, which they pass
/// by, is told of each. An answer to `HEAD` leaves without its body, whoever wrote it: this
/// listener's NIO encoder is not told the methods (`ListenerChannel`).
final class ProxyFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let pipeline: ProxyPipeline
    private let connectionGuard: ConnectionGuard
    private let wire: ChannelHandlerContext
    private var machine = FastPathStateMachine()
    private var memo = ConnectionMemo()
    /// The request being answered (one at a time: the state machine holds the next one back).
    private var current: ProxyExchange?
    /// The stages of the current request that wait (a token, room in HighLevel's budget): cancelled
    /// when the caller goes away, so it leaves the queue it waits in.
    private var waiting: Task<Void, Never>?

    /// `wire`: the context of the connection's `HTTPResponseEncoder`, where answers are written as bytes.
    init(pipeline: ProxyPipeline, connectionGuard: ConnectionGuard, wire: ChannelHandlerContext) {
        self.pipeline = pipeline
        self.connectionGuard = connectionGuard
        self.wire = wire
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.read(unwrapInboundIn(data)), context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if machine.readComplete() { context.fireChannelReadComplete() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch (machine.write(part), part) {
        case (.pass, _):
            context.write(data, promise: promise)
        case (.bodiless, .head(let head)):
            wire.write(NIOAny(IOData.byteBuffer(bytes(HeaderLines(head), framing: .none, body: nil))), promise: promise)
        case (.bodiless, .body):
            promise?.succeed()
        case (.bodiless, .end):
            writeEnd(ByteBuffer(), promise: promise, context)
        }
    }

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.cancel()
        waiting = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The caller closed its side (Hummingbird allows half-closure): it will not read an answer.
        if case .inputClosed = event as? ChannelEvent {
            waiting?.cancel()
            waiting = nil
        }
        if machine.event(event) { context.fireUserInboundEventTriggered(event) }
    }

    private func perform(_ action: FastPathStateMachine.ReadAction, _ context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .pass(let part):
            context.fireChannelRead(wrapInboundOut(part))
        case .passHeld(let head, let part):
            context.fireChannelRead(wrapInboundOut(.head(head)))
            context.fireChannelRead(wrapInboundOut(part))
        case .answer(let head):
            if !answer(head, context) { perform(machine.declined(head, end: .end(nil)), context) }
        }
    }

    /// A request without a body, answered from here whatever its exchange decides: a refusal at
    /// once, an allowed request forwarded from this event loop (through a task only when a stage
    /// has to wait, or to replay after a 401). False when the head does not fit HTTP types, for
    /// Hummingbird to answer as it would, and for the MCP endpoint (`ProxyResponder` serves it).
    private func answer(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) -> Bool {
        guard !MCPEndpoint.handles(head.uri), let request = Self.request(head) else { return false }
        current = ProxyExchange(request, pipeline: pipeline)
        if let action = current?.start(memo: &memo, readsBody: false) { carry(consume action, context) }
        return true
    }

    /// Carries out the current exchange's action: an answer or a refusal written, a send made from
    /// the event loop, anything that waits in a task.
    private func carry(_ action: consuming ProxyExchange.Action, _ context: ChannelHandlerContext) {
        switch consume action {
        case .answer(let answer):
            deliver(.success(answer), context)
        case .refuse(let error):
            deliver(.failure(error), context)
        case .send(let send):
            sendNow(send, context)
        case let waits:
            wait(waits, context)
        }
    }

    /// The send without a task; HighLevel's answer goes back to the exchange on this loop.
    private func sendNow(_ send: ProxyExchange.Send, _ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        do {
            try pipeline.sendNow(send, on: context.eventLoop) { result in
                let (handler, context) = bound.value
                let next =
                    switch result {
                    case .success(let answer): handler.current?.upstreamAnswered(answer)
                    case .failure(let error): handler.current?.failed(UpstreamForwarder.gatewayError(error))
                    }
                if let next { handler.carry(consume next, context) }
            }
        } catch {
            if let next = current?.failed(error) { carry(next, context) }
        }
    }

    /// Carries out the actions that wait in a task (`ProxyPipeline.carry`), on a copy of the
    /// exchange, then delivers the outcome (and the exchange) on the connection's loop.
    private func wait(_ action: ProxyExchange.Action, _ context: ChannelHandlerContext) {
        guard let exchange = current else { return }
        let pipeline = self.pipeline
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        waiting = Task {
            var exchange = exchange
            let outcome = await pipeline.carry(action, &exchange, on: loop) { _ throws(GatewayError) in (.empty, nil) }
            loop.execute { [exchange] in
                let (handler, context) = bound.value
                handler.current = exchange
                handler.deliver(outcome, context)
            }
        }
    }

    /// The head in HTTP types, with its request id; nil for a header name HTTP types refuse.
    private static func request(_ head: HTTPRequestHead) -> ProxyExchange.Request? {
        guard let method = HTTPRequest.Method(head.method.rawValue) else { return nil }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        for (name, value) in head.headers {
            guard let fieldName = HTTPField.Name(name) else { return nil }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return ProxyExchange.Request(method: method, path: head.uri, headers: fields, requestId: RequestID.of(fields), wire: head.headers)
    }

    /// Writes HighLevel's answer (or the gateway's error) and finishes the current exchange.
    private func deliver(_ result: Result<UpstreamResponse, GatewayError>, _ context: ChannelHandlerContext) {
        guard let request = current?.request else { return }
        let bodiless = request.method == .head
        switch result {
        case .failure(let error):
            let answer = error.channelAnswer(requestId: request.requestId)
            writeAnswer(HeaderLines(answer.head), framing: .none, body: bodiless ? nil : answer.body, context)
            finish(status: error.code.status, context)
        case .success(let upstream):
            let status = Int(upstream.head.status.code)
            switch upstream.body {
            case .buffered(let body):
                var lines = HeaderLines(status: upstream.head.status)
                var framed = false
                HopByHopHeaders.downstreamResponse(upstream.head.headers) { name, value in
                    if ASCIICase.equal(name, lowercased: "content-length") { framed = true }
                    lines.add(name: name, value: value)
                }
                lines.add(name: RequestID.headerName, value: request.requestId)
                // RFC 9110 §8.6: no length on a 204; a 304's, when HighLevel gives one, is the resource's.
                let length = status == 204 || status == 304 || framed ? BodyFraming.none : .length(body?.readableBytes ?? 0)
                writeAnswer(lines, framing: length, body: bodiless ? nil : body, context)
                finish(status: status, context)
            case .streamed(let stream):
                var headers = HTTPHeaders()
                HopByHopHeaders.downstreamResponse(upstream.head.headers) { headers.add(name: $0, value: $1) }
                headers.add(name: RequestID.headerName, value: request.requestId)
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: upstream.head.status, headers: headers))), promise: nil)
                pump(stream, status: status, context)
            }
        }
    }

    /// A whole answer, in one write.
    private func writeAnswer(_ lines: consuming HeaderLines, framing: BodyFraming, body: ByteBuffer?, _ context: ChannelHandlerContext) {
        writeEnd(bytes(lines, framing: framing, body: body), promise: nil, context)
    }

    /// An answer's bytes from its head on, the guard told of the head (it may have to say `Connection: close`).
    private func bytes(_ lines: consuming HeaderLines, framing: BodyFraming, body: ByteBuffer?) -> ByteBuffer {
        if connectionGuard.answerHeadWrittenPast() { lines.add(name: "Connection", value: "close") }
        return lines.finish(framing: framing, body: body)
    }

    /// An answer's last bytes, flushed, the guard told (the connection may have to close once they are written).
    private func writeEnd(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>?, _ context: ChannelHandlerContext) {
        guard connectionGuard.answerEndWrittenPast() else {
            return wire.writeAndFlush(NIOAny(IOData.byteBuffer(bytes)), promise: promise)
        }
        let written = promise ?? context.eventLoop.makePromise()
        wire.writeAndFlush(NIOAny(IOData.byteBuffer(bytes)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// Copies a long body chunk by chunk, each once the connection took the one before.
    private func pump(_ stream: UpstreamBodyStream, status: Int, _ context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        Task {
            let complete: Bool
            do {
                for try await chunk in stream {
                    try await loop.flatSubmit {
                        bound.value.context.writeAndFlush(bound.value.handler.wrapOutboundOut(.body(.byteBuffer(chunk))))
                    }.get()
                }
                complete = true
            } catch {
                complete = false
            }
            loop.execute {
                let (handler, context) = bound.value
                if complete {
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                } else {
                    // The answer broke off: so does the caller's, rather than looking complete.
                    context.close(promise: nil)
                }
                handler.finish(status: status, context)
            }
        }
    }

    /// Logs the exchange, then lets the connection go on: deferred events, waiting parts, reading.
    private func finish(status: Int, _ context: ChannelHandlerContext) {
        waiting = nil
        if let finish = current?.finish(status: status) {
            current = nil
            pipeline.finish(consume finish)
        }
        let (events, queued) = machine.answered()
        for event in events { context.fireUserInboundEventTriggered(event) }
        if queued {
            while let part = machine.nextQueued() { perform(machine.read(part), context) }
            // Hummingbird takes what it was handed when a read completes.
            if machine.readComplete() { context.fireChannelReadComplete() }
        }
        if machine.releaseHeldRead() { context.read() }
    }
}
