import NIOCore

/// Sits before the HTTP decoder and tells `ConnectionGuard` (by an inbound event) that the client
/// sent bytes, which the decoder would keep to itself until a request head is complete: that is
/// when a request's head timeout starts.
final class InboundBytesObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    struct Arrived {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(Arrived())
        context.fireChannelRead(data)
    }
}
