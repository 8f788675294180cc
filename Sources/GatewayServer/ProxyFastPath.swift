import HTTPTypes
import HighLevelOAuth
import NIOCore
import NIOHTTP1

/// The proxy's common case, served in the connection's NIO pipeline below Hummingbird: a
/// body-less HTTP/1.1 request that the policy allows and whose token is cached is forwarded from
/// here, and HighLevel's answer written back from here, with no request task and no conversion to
/// and from Hummingbird's types. Everything else (a body, any refusal, a token that needs the vault
/// or HighLevel) goes on to `ProxyResponder` untouched, which answers it: so every gateway error is
/// made in one place, and both paths run the same stages.
final class ProxyFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// A head without a declared body, held until its end arrives.
        case holding(HTTPRequestHead)
        /// Answering a request here; parts that arrive meanwhile wait.
        case forwarding
    }

    /// One request answered here, from admission to its log line.
    private struct Exchange: Sendable {
        var entry: AccessLogEntry
        let started: ContinuousClock.Instant
        let requestId: String
    }

    private let responder: ProxyResponder
    private var state = State.idle
    /// Requests handed to Hummingbird whose answer has not ended: while there are any, new requests
    /// go there too, so answers leave in request order.
    private var handedOver = 0
    private var queued: [InboundIn] = []
    private var deferredEvents: [Any] = []
    private var heldRead = false

    init(responder: ProxyResponder) {
        self.responder = responder
    }

    private var isForwarding: Bool {
        if case .forwarding = state { true } else { false }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if isForwarding {
            queued.append(part)
        } else {
            route(part, context)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), handedOver > 0 { handedOver -= 1 }
        context.write(data, promise: promise)
    }

    /// Reading pauses only once a request arrived while another is answered here (pipelining), so
    /// what waits stays bounded by one read.
    func read(context: ChannelHandlerContext) {
        if isForwarding, !queued.isEmpty {
            heldRead = true
        } else {
            context.read()
        }
    }

    /// A shutdown's quiesce waits for the answer in progress (Hummingbird would close a connection
    /// it sees as idle).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isForwarding {
            deferredEvents.append(event)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func route(_ part: InboundIn, _ context: ChannelHandlerContext) {
        switch (part, state) {
        case (.head(let head), .idle) where handedOver == 0 && Self.isCandidate(head):
            state = .holding(head)
        case (.head, _):
            handedOver += 1
            context.fireChannelRead(wrapInboundOut(part))
        case (.body, .holding(let head)):
            handOver(head, context)
            context.fireChannelRead(wrapInboundOut(part))
        case (.end, .holding(let head)):
            state = .idle
            if !answer(head, context) {
                handOver(head, context)
                context.fireChannelRead(wrapInboundOut(part))
            }
        default:
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func handOver(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
        state = .idle
        handedOver += 1
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// HTTP/1.1, keep-alive, and no body declared.
    private static func isCandidate(_ head: HTTPRequestHead) -> Bool {
        head.version == .http1_1 && head.isKeepAlive && !head.headers.contains(name: "transfer-encoding")
            && head.headers.first(name: "content-length").map { $0 == "0" } ?? true
    }

    /// Runs the pipeline's stages; false when `ProxyResponder` must take the request instead.
    private func answer(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) -> Bool {
        guard let method = HTTPRequest.Method(head.method.rawValue) else { return false }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        for (name, value) in head.headers {
            guard let fieldName = HTTPField.Name(name) else { return false }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        let requestId = ProxyResponder.requestId(fields)
        var exchange = Exchange(entry: AccessLogEntry(requestId: requestId, method: head.method.rawValue), started: .now, requestId: requestId)
        let routed: ProxyResponder.Routed
        let token: AccessToken
        do {
            routed = try responder.route(method: method, path: head.uri, headers: fields, entry: &exchange.entry)
            let target = try responder.requestTarget(routed, headers: fields)
            guard !TokenSelector.needsCompletion(target, for: routed.route),
                let cached = responder.tokens.broker.cachedToken(for: try TokenSelector.owner(for: routed.route, target: target))
            else { return false }
            try TokenSelector.checkScope(routed.route, cached)
            try responder.authorize(routed, target, entry: &exchange.entry)
            token = cached
        } catch {
            return false
        }

        state = .forwarding
        let forwarder = responder.forwarder
        let responder = self.responder
        let loop = context.eventLoop
        let upstreamStarted = ContinuousClock.now
        let upstreamHead = forwarder.head(
            method: method, target: routed.target, headers: fields, body: .empty, token: token.token, requestId: requestId)
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        forwarder.pool.send(head: upstreamHead, body: nil, on: loop).whenComplete { [exchange, fields] result in
            switch result {
            case .success(let upstream) where upstream.head.status == .unauthorized:
                var replayedExchange = exchange
                replayedExchange.entry.replayed = true
                Task { [replayedExchange] in
                    let replayed: Result<UpstreamResponse, GatewayError>
                    do throws(GatewayError) {
                        replayed = .success(try await responder.replay(routed.route, after: upstream, with: token) { renewed throws(GatewayError) in
                            try await forwarder.send(
                                method: method, target: routed.target, headers: fields, body: .empty, token: renewed, requestId: requestId,
                                on: loop)
                        })
                    } catch {
                        replayed = .failure(error)
                    }
                    loop.execute { bound.value.handler.deliver(replayed, replayedExchange, upstreamStarted, bound.value.context) }
                }
            case .success(let upstream):
                bound.value.handler.deliver(.success(upstream), exchange, upstreamStarted, bound.value.context)
            case .failure(let error):
                bound.value.handler.deliver(.failure(UpstreamForwarder.gatewayError(error)), exchange, upstreamStarted, bound.value.context)
            }
        }
        return true
    }

    /// Writes HighLevel's answer (or the gateway's error) and finishes the exchange.
    private func deliver(
        _ result: Result<UpstreamResponse, GatewayError>, _ exchange: Exchange, _ upstreamStarted: ContinuousClock.Instant,
        _ context: ChannelHandlerContext
    ) {
        var exchange = exchange
        switch result {
        case .failure(let error):
            exchange.entry.code = error.code.rawValue
            let body = error.jsonBody(requestId: exchange.requestId)
            var headers = HTTPHeaders()
            for field in error.headers(requestId: exchange.requestId) { headers.add(name: field.name.rawName, value: field.value) }
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            write(HTTPResponseHead(version: .http1_1, status: .init(statusCode: error.code.status), headers: headers), body, context)
            finish(exchange, status: error.code.status, context)
        case .success(let upstream):
            exchange.entry.upstreamStatus = Int(upstream.head.status.code)
            responder.metrics.upstream(ContinuousClock.now - upstreamStarted)
            var headers = HopByHopHeaders.downstreamResponseHeaders(upstream.head.headers)
            headers.replaceOrAdd(name: "X-Request-Id", value: exchange.requestId)
            let status = Int(upstream.head.status.code)
            switch upstream.body {
            case .buffered(let body):
                if !headers.contains(name: "content-length") { headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0)) }
                write(HTTPResponseHead(version: .http1_1, status: upstream.head.status, headers: headers), body, context)
                finish(exchange, status: status, context)
            case .streamed(let stream):
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: upstream.head.status, headers: headers))), promise: nil)
                pump(stream, exchange, status: status, context)
            }
        }
    }

    private func write(_ head: HTTPResponseHead, _ body: ByteBuffer?, _ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Copies a long body chunk by chunk, each once the connection took the one before.
    private func pump(_ stream: UpstreamBodyStream, _ exchange: Exchange, status: Int, _ context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        Task {
            var complete = true
            do {
                for try await chunk in stream {
                    try await loop.flatSubmit {
                        bound.value.context.writeAndFlush(bound.value.handler.wrapOutboundOut(.body(.byteBuffer(chunk))))
                    }.get()
                }
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
                handler.finish(exchange, status: status, context)
            }
        }
    }

    /// Logs the exchange, then lets the connection go on: deferred events, waiting parts, reading.
    private func finish(_ exchange: Exchange, status: Int, _ context: ChannelHandlerContext) {
        var entry = exchange.entry
        responder.finish(&entry, status: status, started: exchange.started)
        state = .idle
        let events = deferredEvents
        deferredEvents = []
        for event in events { context.fireUserInboundEventTriggered(event) }
        if !queued.isEmpty {
            while !queued.isEmpty, !isForwarding {
                route(queued.removeFirst(), context)
            }
            // Hummingbird takes what it was handed when a read completes.
            context.fireChannelReadComplete()
        }
        if heldRead, !isForwarding {
            heldRead = false
            context.read()
        }
    }
}
