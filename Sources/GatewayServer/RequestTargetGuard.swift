import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Refuses, before Hummingbird sees it, a request whose target is not origin-form (`/path`).
/// Hummingbird turns `GET http://host/path` into `/path`, which would hide an absolute-form or
/// authority-form target from the pipeline; the gateway answers such a request 400 and closes.
final class RequestTargetGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var refusing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head) where head.uri.first != "/":
            refusing = true
            let requestId = ProxyResponder.requestId([:])
            let body = GatewayError(.badRequest, "the request target must be a path starting with '/' (absolute or authority form refused)")
                .jsonBody(requestId: requestId)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.readableBytes))
            headers.add(name: "Connection", value: "close")
            headers.add(name: "X-Request-Id", value: requestId)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .badRequest, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        case .head, .body, .end:
            if !refusing { context.fireChannelRead(data) }
        }
    }
}

/// Hummingbird's HTTP/1 server with `RequestTargetGuard` placed right after the HTTP decoder.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel

    var responder: HTTPChannelHandler.Responder { inner.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(RequestTargetGuard(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

    static func builder(_ configuration: HTTP1Channel.Configuration = .init()) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}
