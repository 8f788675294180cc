import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1 server with `RequestTargetGuard` placed right after the HTTP decoder and,
/// for the proxy listener, `ProxyFastPath` right after the guard.
struct GuardedHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel
    let fastPath: ProxyPipeline?

    var responder: HTTPChannelHandler.Responder { inner.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let guardHandler = RequestTargetGuard()
            try pipeline.addHandler(guardHandler, position: .after(try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)))
            if let fastPath { try pipeline.addHandler(ProxyFastPath(pipeline: fastPath), position: .after(guardHandler)) }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

    static func builder(fastPath: ProxyPipeline? = nil) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder), fastPath: fastPath)
        }
    }
}
