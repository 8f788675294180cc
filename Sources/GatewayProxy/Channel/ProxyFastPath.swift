import GatewayRuntime
import HTTPTypes
import HighLevelOAuth
import NIOCore
import NIOHTTP1

/// The proxy's common case, served in the connection's NIO pipeline below Hummingbird: every
/// HTTP/1.1 keep-alive request without a body runs `ProxyPipeline` from here and is answered from
/// here (HighLevel's answer or the pipeline's refusal), with no conversion to and from
/// Hummingbird's types and, when the token is in memory, no task. What has a body (or is HTTP/1.0,
/// or closes) goes on to `ProxyResponder` untouched, which runs the same pipeline.
final class ProxyFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// One request answered here, from admission to its log line.
    private struct InFlight: Sendable {
        var entry: AccessLogEntry
        let started: ContinuousClock.Instant
    }

    private let pipeline: ProxyPipeline
    private var machine = FastPathStateMachine()
    private var memo = ConnectionMemo()
    /// The request being answered (one at a time: the state machine holds the next one back).
    private var current: InFlight?
    /// The stages of the current request that wait (a token, room in HighLevel's budget): cancelled
    /// when the caller goes away, so it leaves the queue it waits in.
    private var waiting: Task<Void, Never>?

    init(pipeline: ProxyPipeline) {
        self.pipeline = pipeline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.read(unwrapInboundIn(data)), context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if machine.readComplete() { context.fireChannelReadComplete() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { machine.wroteEnd() }
        context.write(data, promise: promise)
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

    /// The stages for a request without a body, answered from here whatever they decide: a
    /// refusal at once, an allowed request forwarded from this event loop (through a task only
    /// when a stage has to wait, or to replay after a 401). False only when the head does not
    /// fit HTTP types, for Hummingbird to answer as it would.
    private func answer(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) -> Bool {
        guard let request = Self.request(head) else { return false }
        var exchange = InFlight(entry: AccessLogEntry(requestId: request.requestId, method: head.method.rawValue), started: .now)
        let admission: ProxyPipeline.Admission
        do {
            let routed = try pipeline.route(request, entry: &exchange.entry, memo: &memo)
            admission = try pipeline.admit(routed, headers: request.headers, body: nil, entry: &exchange.entry)
        } catch {
            current = exchange
            deliver(.failure(error), context)
            return true
        }
        current = exchange
        let pipeline = self.pipeline
        let loop = context.eventLoop
        guard case .ready(let admitted, let token) = admission else {
            complete(context) { entry throws(GatewayError) in
                try await pipeline.forward(admission, request, body: .empty, on: loop, entry: &entry)
            }
            return true
        }
        let started = ContinuousClock.now
        let sent: EventLoopFuture<UpstreamResponse>
        do {
            sent = try pipeline.sendNow(admitted, token, request, on: loop)
        } catch {
            deliver(.failure(error), context)
            return true
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        sent.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(let upstream) where pipeline.needsReplay(upstream, body: .empty):
                handler.complete(context) { entry throws(GatewayError) in
                    try await pipeline.settle(upstream, admitted, token, request, body: .empty, on: loop, started: started, entry: &entry)
                }
            case .success(let upstream):
                pipeline.noteUpstream(upstream, started: started, entry: &handler.current!.entry)
                handler.deliver(.success(upstream), context)
            case .failure(let error):
                handler.deliver(.failure(UpstreamForwarder.gatewayError(error)), context)
            }
        }
        return true
    }

    /// Runs the stages that wait in a task, on a copy of the current log entry, then delivers
    /// their outcome (and the entry) on the connection's loop.
    private func complete(
        _ context: ChannelHandlerContext,
        _ work: @escaping @Sendable (inout AccessLogEntry) async throws(GatewayError) -> UpstreamResponse
    ) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let entry = current!.entry
        waiting = Task {
            var entry = entry
            let result: Result<UpstreamResponse, GatewayError>
            do throws(GatewayError) {
                result = .success(try await work(&entry))
            } catch {
                result = .failure(error)
            }
            loop.execute { [entry] in
                let (handler, context) = bound.value
                handler.current?.entry = entry
                handler.deliver(result, context)
            }
        }
    }

    /// The head in HTTP types, with its request id; nil for a header name HTTP types refuse.
    private static func request(_ head: HTTPRequestHead) -> ProxyPipeline.Request? {
        guard let method = HTTPRequest.Method(head.method.rawValue) else { return nil }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        for (name, value) in head.headers {
            guard let fieldName = HTTPField.Name(name) else { return nil }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return ProxyPipeline.Request(method: method, path: head.uri, headers: fields, requestId: RequestID.of(fields), wire: head.headers)
    }

    /// Writes HighLevel's answer (or the gateway's error) and finishes the current exchange.
    private func deliver(_ result: Result<UpstreamResponse, GatewayError>, _ context: ChannelHandlerContext) {
        guard let requestId = current?.entry.requestId else { return }
        switch result {
        case .failure(let error):
            pipeline.refuse(error, entry: &current!.entry)
            let answer = error.channelAnswer(requestId: requestId)
            write(answer.head, answer.body, context)
            finish(status: error.code.status, context)
        case .success(let upstream):
            var headers = HopByHopHeaders.downstreamResponseHeaders(upstream.head.headers)
            headers.replaceOrAdd(name: RequestID.headerName, value: requestId)
            let status = Int(upstream.head.status.code)
            switch upstream.body {
            case .buffered(let body):
                if !headers.contains(name: "content-length") { headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0)) }
                write(HTTPResponseHead(version: .http1_1, status: upstream.head.status, headers: headers), body, context)
                finish(status: status, context)
            case .streamed(let stream):
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: upstream.head.status, headers: headers))), promise: nil)
                pump(stream, status: status, context)
            }
        }
    }

    private func write(_ head: HTTPResponseHead, _ body: ByteBuffer?, _ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
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
        if var exchange = current {
            current = nil
            pipeline.finish(&exchange.entry, status: status, started: exchange.started)
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
