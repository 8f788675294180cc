import NIOCore
import NIOHTTP1

/// A request's part as the connection handler writes it: the head in bytes, then the body.
typealias UpstreamRequestPart = HTTPPart<UpstreamRequestHead, ByteBuffer>

/// Puts each part of a request to HighLevel on the wire: the head's bytes as they were written, the
/// body as it is or, when the head says so, in chunks (`ChunkedBody`). Before a head leaves, the
/// response parser is told its method: NIO's parser pairs each answer with a request, and learned
/// the method by reading NIO's typed heads, which no longer pass.
final class UpstreamRequestEncoder: ChannelOutboundHandler {
    typealias OutboundIn = UpstreamRequestPart
    typealias OutboundOut = IOData

    private let decoder: UpstreamResponseDecoder
    private var chunked = false

    init(announcingTo decoder: UpstreamResponseDecoder) {
        self.decoder = decoder
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            chunked = head.framing == .chunked
            decoder.expect(head.method)
            context.write(wrapOutboundOut(.byteBuffer(head.bytes)), promise: promise)
        case .body(let body) where chunked:
            ChunkedBody.write(.byteBuffer(body), context: context, promise: promise)
        case .body(let body):
            context.write(wrapOutboundOut(.byteBuffer(body)), promise: promise)
        case .end where chunked:
            chunked = false
            ChunkedBody.end(context: context, promise: promise)
        case .end:
            ChunkedBody.writeNothing(context: context, promise: promise)
        }
    }
}
