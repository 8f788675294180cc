import NIOCore

/// Sits before the HTTP decoder and tells `ConnectionGuard` that the client sent bytes, which the
/// decoder would keep to itself until a request head is complete: that is when a request's head
/// timeout starts. It calls the guard directly rather than sending an event through the handlers
/// between them, since it does so on every read.
package final class InboundBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer

    private let connectionGuard: ConnectionGuard

    package init(telling connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connectionGuard.bytesArrived()
        context.fireChannelRead(data)
    }
}
