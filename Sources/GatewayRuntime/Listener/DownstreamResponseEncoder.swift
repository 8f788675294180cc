import NIOCore
import NIOHTTP1

/// Puts a listener's answers on the wire, in place of NIO's `HTTPResponseEncoder`: a head in NIO's
/// types, and the parts after it, go through NIO's encoder as before; a head already written
/// (`WrittenResponseHead`) leaves as its bytes, its body as it is or, when the head says so, in
/// chunks (`ChunkedBody`). A written head's answer has no trailers.
package final class DownstreamResponseEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    package typealias OutboundIn = DownstreamResponsePart
    package typealias OutboundOut = IOData

    /// How the parts after the last head are written.
    private enum Current {
        case typed
        case raw
        case chunked
    }

    private let typed: HTTPResponseEncoder
    private var current = Current.typed

    init(configuration: HTTPResponseEncoder.Configuration = .init()) {
        typed = HTTPResponseEncoder(configuration: configuration)
    }

    /// Puts this encoder where the listener's pipeline has NIO's, which it replaces.
    package static func replaceNIOEncoder(in pipeline: ChannelPipeline.SynchronousOperations) throws {
        let nio = try pipeline.handler(type: HTTPResponseEncoder.self)
        try pipeline.addHandler(DownstreamResponseEncoder(), position: .after(nio))
        pipeline.removeHandler(nio, promise: nil)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch (unwrapOutboundIn(data), current) {
        case (.head(.typed(let head)), _):
            current = .typed
            typed.write(context: context, data: NIOAny(HTTPServerResponsePart.head(head)), promise: promise)
        case (.head(.written(let head)), _):
            current = head.framing == .chunked ? .chunked : .raw
            context.write(wrapOutboundOut(.byteBuffer(head.wire)), promise: promise)
        case (.body(let body), .typed):
            typed.write(context: context, data: NIOAny(HTTPServerResponsePart.body(body)), promise: promise)
        case (.body(let body), .raw):
            context.write(wrapOutboundOut(body), promise: promise)
        case (.body(let body), .chunked):
            ChunkedBody.write(body, context: context, promise: promise)
        case (.end(let trailers), .typed):
            typed.write(context: context, data: NIOAny(HTTPServerResponsePart.end(trailers)), promise: promise)
        case (.end, .raw):
            ChunkedBody.writeNothing(context: context, promise: promise)
        case (.end, .chunked):
            ChunkedBody.end(context: context, promise: promise)
        }
    }
}
