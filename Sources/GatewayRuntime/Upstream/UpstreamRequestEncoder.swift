import NIOCore
import NIOHTTP1

/// A request's part as the connection handler writes it: the head in bytes, then the body.
typealias UpstreamRequestPart = HTTPPart<UpstreamRequestHead, ByteBuffer>

/// Puts each part of a request to HighLevel on the wire: the head's bytes as they were written, the
/// body as it is or, when the head says so, in chunks (RFC 9112 §7.1: each part as its size in
/// hex, CRLF, the bytes, CRLF; the end as the chunk of size 0). Before a head leaves, the
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
        case .body(let body) where chunked && body.readableBytes > 0:
            var size = context.channel.allocator.buffer(capacity: 18)
            size.writeString(String(body.readableBytes, radix: 16))
            size.writeStaticString("\r\n")
            context.write(wrapOutboundOut(.byteBuffer(size)), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(body)), promise: nil)
            context.write(wrapOutboundOut(.byteBuffer(Self.lineEnd)), promise: promise)
        case .body(let body):
            // Unframed, or an empty part of a chunked body: as a chunk of size 0 it would end the body there.
            context.write(wrapOutboundOut(.byteBuffer(body)), promise: promise)
        case .end where chunked:
            chunked = false
            context.write(wrapOutboundOut(.byteBuffer(Self.lastChunk)), promise: promise)
        case .end:
            // Nothing to send; an empty write completes the promise in order with the rest.
            if let promise { context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise) }
        }
    }

    private static let lineEnd = ByteBuffer(staticString: "\r\n")
    private static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")
}
