import GatewayRuntime
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// Hummingbird's HTTP/1 server for each of the gateway's listeners, with the gateway's guards in
/// its pipeline: the listener's connection cap at accept, TLS when configured (with the context in
/// force at accept), `InboundBytesObserver` before the HTTP decoder, then after it `RequestTargetGuard`, `ConnectionGuard` and, for the proxy listener,
/// `ProxyFastPath`.
package struct ListenerChannel: ServerChildChannel, HTTPChannelHandler {
    package typealias Value = HTTP1Channel.Value

    /// A connection accepted over the listener's cap.
    struct OverCapacity: Error {}

    let inner: HTTP1Channel
    let connections: ListenerConnections
    let tls: TLSContextStore?
    let fastPath: ProxyPipeline?

    package var responder: HTTPChannelHandler.Responder { inner.responder }

    package func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard connections.admit() else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(OverCapacity())
        }
        let connections = self.connections
        channel.closeFuture.whenComplete { _ in connections.release() }
        if let tls {
            do {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
        }
        let limits = inner.configuration.httpDecoder
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { [fastPath] value in
            let pipeline = channel.pipeline.syncOperations
            var decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            if fastPath != nil {
                // NIO pairs its parser with its encoder, which takes one method off a queue for
                // each answer it encodes; the fast path's answers do not pass it, so that queue
                // would grow for the connection's life and misname later answers. This parser
                // tells the encoder nothing; `ProxyFastPath` keeps answers to `HEAD` bodiless.
                let unpaired = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limits: limits))
                try pipeline.addHandler(unpaired, position: .after(decoder))
                pipeline.removeHandler(decoder, promise: nil)
                decoder = unpaired
            }
            let connectionGuard = ConnectionGuard(connections: connections)
            try pipeline.addHandler(InboundBytesObserver(telling: connectionGuard), position: .before(decoder))
            let targetGuard = RequestTargetGuard(asking: connectionGuard)
            try pipeline.addHandler(targetGuard, position: .after(decoder))
            try pipeline.addHandler(connectionGuard, position: .after(targetGuard))
            if let fastPath {
                let wire = try pipeline.context(handlerType: HTTPResponseEncoder.self)
                let handler = ProxyFastPath(pipeline: fastPath, connectionGuard: connectionGuard, wire: wire)
                try pipeline.addHandler(handler, position: .after(connectionGuard))
            }
            return value
        }
    }

    package func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

    package static func builder(connections: ListenerConnections, tls: TLSContextStore?, fastPath: ProxyPipeline? = nil) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ListenerChannel(inner: HTTP1Channel(responder: responder), connections: connections, tls: tls, fastPath: fastPath)
        }
    }
}

extension HTTPRequestDecoder {
    /// A request parser with Hummingbird's limits, as `HTTP1Channel` configures NIO's own.
    fileprivate convenience init(leftOverBytesStrategy: RemoveAfterUpgradeStrategy, limits: HTTP1Channel.Configuration.DecoderConfiguration) {
        var configuration = NIOHTTPDecoderLimitConfiguration()
        configuration.maxHeaderFieldSize = limits.maxHeaderFieldSize
        configuration.maxHeaderListSize = limits.maxHeaderListSize
        configuration.maxHeaderFieldCount = limits.maxHeaderFieldCount
        self.init(leftOverBytesStrategy: leftOverBytesStrategy, informationalResponseStrategy: .drop, limitConfiguration: configuration)
    }
}
