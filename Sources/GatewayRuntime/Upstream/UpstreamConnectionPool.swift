import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Keep-alive HTTP/1.1 connections to HighLevel, pooled per event loop, so that a request is
/// forwarded on the loop its caller's connection lives on: one hop into the loop to send, one
/// back when the response is complete, no lock and no cross-loop traffic in between.
package final class UpstreamConnectionPool: Sendable {
    package struct Settings: Sendable {
        var endpoint: UpstreamEndpoint
        var connectTimeout: TimeAmount
        /// Until the response head (the request body is sent within it).
        var headTimeout: TimeAmount
        /// Longest silence while a response body streams; also how long an idle connection is kept.
        var readTimeout: TimeAmount
        var maxIdlePerLoop = 256
        /// For `https`: the system's trust roots and full verification unless a test says otherwise.
        var tls = TLSConfiguration.makeClientConfiguration()
    }

    /// An exchange under way: the response to come, and the way to write the rest of a streamed
    /// request body (only this exchange's parts reach the connection, see `UpstreamConnectionHandler`).
    struct Exchange: Sendable {
        fileprivate let connection: NIOLoopBound<UpstreamConnectionHandler>
        fileprivate let number: Int
        let response: EventLoopFuture<UpstreamResponse>

        /// Writes and flushes one part of the request; fails once the exchange is over (answered
        /// early, failed, abandoned) or the connection closed.
        func write(_ part: UpstreamRequestPart) -> EventLoopFuture<Void> {
            let loop = connection.eventLoop
            guard loop.inEventLoop else { return loop.flatSubmit { write(part) } }
            let promise = loop.makePromise(of: Void.self)
            connection.value.write(part, exchange: number, promise: promise)
            connection.value.flush()
            return promise.futureResult
        }

        /// The caller will not finish the request: the connection is closed unless the exchange is over.
        func abandon() {
            let loop = connection.eventLoop
            guard loop.inEventLoop else { return loop.execute { abandon() } }
            connection.value.abandon(exchange: number)
        }
    }

    private let settings: Settings
    var endpoint: UpstreamEndpoint { settings.endpoint }
    private let group: any EventLoopGroup
    private let tls: NIOSSLContext?
    /// Each loop's idle connections, by their handler (no pipeline lookup per request).
    private let idle: [ObjectIdentifier: NIOLoopBoundBox<[UpstreamConnectionHandler]>]

    package init(settings: Settings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.settings = settings
        self.group = group
        tls = settings.endpoint.useTLS ? try NIOSSLContext(configuration: settings.tls) : nil
        var idle: [ObjectIdentifier: NIOLoopBoundBox<[UpstreamConnectionHandler]>] = [:]
        for loop in group.makeIterator() {
            idle[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue([], eventLoop: loop)
        }
        self.idle = idle
    }

    /// Sends a request whose body is in memory (or empty) and completes with the response. A
    /// pooled connection that HighLevel closed before answering is retried once on a new one, when
    /// that is safe (RFC 9110 §9.2.2): the method is idempotent, or no byte of the request left.
    package func send(head: UpstreamRequestHead, body: ByteBuffer?, on preferred: any EventLoop) -> EventLoopFuture<UpstreamResponse> {
        let loop = self.loop(preferring: preferred)
        let promise = loop.makePromise(of: UpstreamResponse.self)
        send(head: head, body: body, on: loop) { promise.completeWith($0) }
        return promise.futureResult
    }

    /// The same send, its answer handed to `completion` on the loop that served it. Called on the
    /// pool's loop (the fast path), it starts at once, without a hop through the loop's task
    /// queue, and no future is made: a pooled request's two futures (the response's and the
    /// retry's) were a tenth of what the event loop spent forwarding it (callgrind, issue 29).
    package func send(
        head: UpstreamRequestHead, body: ByteBuffer?, on preferred: any EventLoop, completion: @escaping UpstreamCompletion
    ) {
        let loop = self.loop(preferring: preferred)
        guard loop.inEventLoop else { return loop.execute { self.sendOnLoop(head: head, body: body, on: loop, completion) } }
        sendOnLoop(head: head, body: body, on: loop, completion)
    }

    /// Sends the head of a request whose body the caller writes to the `Exchange`, followed by `end`.
    func start(head: UpstreamRequestHead, on preferred: any EventLoop) -> EventLoopFuture<Exchange> {
        let loop = self.loop(preferring: preferred)
        return loop.flatSubmit { self.startOnLoop(head: head, on: loop) }
    }

    /// Closes every idle connection; those in use close when their exchange ends.
    package func close() async {
        for box in idle.values {
            try? await box.eventLoop.submit {
                for handler in box.value { handler.channel.close(promise: nil) }
                box.value = []
            }.get()
        }
    }

    private func loop(preferring preferred: any EventLoop) -> any EventLoop {
        idle[ObjectIdentifier(preferred)] != nil ? preferred : group.next()
    }

    private func sendOnLoop(head: UpstreamRequestHead, body: ByteBuffer?, on loop: any EventLoop, _ completion: @escaping UpstreamCompletion) {
        guard let handler = pooled(on: loop) else { return sendOnNewConnection(head: head, body: body, on: loop, completion) }
        exchange(on: handler, head: head, body: body, end: true) { result in
            guard case .failure(UpstreamFailure.closedBeforeHead(reused: true, let written)) = result, !written || Self.isIdempotent(head.method)
            else { return completion(result) }
            self.sendOnNewConnection(head: head, body: body, on: loop, completion)
        }
    }

    private func sendOnNewConnection(head: UpstreamRequestHead, body: ByteBuffer?, on loop: any EventLoop, _ completion: @escaping UpstreamCompletion)
    {
        connect(on: loop).whenComplete { connected in
            switch connected {
            case .success(let handler): self.exchange(on: handler, head: head, body: body, end: true, completion)
            case .failure(let error): completion(.failure(error))
            }
        }
    }

    private func startOnLoop(head: UpstreamRequestHead, on loop: any EventLoop) -> EventLoopFuture<Exchange> {
        @Sendable func start(on handler: UpstreamConnectionHandler) -> Exchange {
            let promise = loop.makePromise(of: UpstreamResponse.self)
            let number = exchange(on: handler, head: head, body: nil, end: false) { promise.completeWith($0) }
            return Exchange(connection: NIOLoopBound(handler, eventLoop: loop), number: number, response: promise.futureResult)
        }
        if let handler = pooled(on: loop) { return loop.makeSucceededFuture(start(on: handler)) }
        return connect(on: loop).map(start(on:))
    }

    /// Starts the exchange on a connection of this loop and writes what there is of the request;
    /// its number (see `UpstreamConnectionHandler`).
    @discardableResult
    private func exchange(
        on handler: UpstreamConnectionHandler, head: UpstreamRequestHead, body: ByteBuffer?, end: Bool, _ completion: @escaping UpstreamCompletion
    ) -> Int {
        // 0 names no exchange: when the connection refuses one, every write below is refused too.
        let number = handler.begin(completion, headTimeout: settings.headTimeout) ?? 0
        handler.write(.head(head), exchange: number, promise: nil)
        if let body { handler.write(.body(body), exchange: number, promise: nil) }
        if end { handler.write(.end(nil), exchange: number, promise: nil) }
        handler.flush()
        return number
    }

    /// Methods a client may send again without asking (RFC 9110 §9.2.2).
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .PUT, .DELETE, .OPTIONS, .TRACE: true
        default: false
        }
    }

    /// The most recently used open connection of the loop's pool, taken out of it.
    private func pooled(on loop: any EventLoop) -> UpstreamConnectionHandler? {
        guard let box = idle[ObjectIdentifier(loop)] else { return nil }
        while let handler = box.value.popLast() {
            if handler.channel.isActive { return handler }
        }
        return nil
    }

    private func connect(on loop: any EventLoop) -> EventLoopFuture<UpstreamConnectionHandler> {
        let endpoint = settings.endpoint
        let readTimeout = settings.readTimeout
        let tls = self.tls
        return ClientBootstrap(group: loop)
            .connectTimeout(settings.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: endpoint.tlsServerName))
                    }
                    try UpstreamResponseDecoder.add(to: pipeline)
                    try pipeline.addHandler(IdleStateHandler(readTimeout: readTimeout))
                    let handler = UpstreamConnectionHandler(channel: channel)
                    handler.onReusable = { handler in self?.release(handler) }
                    try pipeline.addHandler(handler)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMapThrowing { channel in try channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self) }
            .flatMapErrorThrowing { error in throw UpstreamFailure.connect("\(type(of: error))") }
    }

    /// Back to the pool of its loop, unless that pool is full.
    private func release(_ handler: UpstreamConnectionHandler) {
        guard let box = idle[ObjectIdentifier(handler.channel.eventLoop)], box.value.count < settings.maxIdlePerLoop else {
            handler.channel.close(promise: nil)
            return
        }
        box.value.append(handler)
    }
}

extension UpstreamConnectionPool.Settings {
    package init(endpoint: UpstreamEndpoint, connectTimeout: TimeAmount, headTimeout: TimeAmount, readTimeout: TimeAmount) {
        self.init(endpoint: endpoint, connectTimeout: connectTimeout, headTimeout: headTimeout, readTimeout: readTimeout, maxIdlePerLoop: 256)
    }
}
