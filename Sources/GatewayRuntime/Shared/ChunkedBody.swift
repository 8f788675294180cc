import NIOCore

/// Writes a body in HTTP/1.1 chunks (RFC 9112 §7.1) for a handler that puts heads on the wire as
/// bytes (`UpstreamRequestEncoder`): each part as its size in hex,
/// CRLF, the bytes, CRLF; the body's end as the chunk of size 0. An empty part writes nothing, as
/// a chunk of size 0 would end the body there (its promise still completes, in order).
enum ChunkedBody {
    static func write(_ part: IOData, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard part.readableBytes > 0 else { return writeNothing(context: context, promise: promise) }
        var size = context.channel.allocator.buffer(capacity: 18)
        size.writeString(String(part.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        context.write(NIOAny(IOData.byteBuffer(size)), promise: nil)
        context.write(NIOAny(part), promise: nil)
        context.write(NIOAny(IOData.byteBuffer(lineEnd)), promise: promise)
    }

    static func end(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        context.write(NIOAny(IOData.byteBuffer(lastChunk)), promise: promise)
    }

    /// Completes `promise` in order with the writes before it, sending no byte.
    static func writeNothing(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if let promise { context.write(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise) }
    }

    private static let lineEnd = ByteBuffer(staticString: "\r\n")
    private static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")
}
