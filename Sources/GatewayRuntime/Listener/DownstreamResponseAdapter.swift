import NIOCore
import NIOHTTP1

/// Hands Hummingbird's answer parts on as `DownstreamResponsePart`s (typed heads), the form the
/// listener's guards and `DownstreamResponseEncoder` take; it sits right below Hummingbird's codec.
package final class DownstreamResponseAdapter: ChannelOutboundHandler, RemovableChannelHandler {
    package typealias OutboundIn = HTTPServerResponsePart
    package typealias OutboundOut = DownstreamResponsePart

    package init() {}

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part: DownstreamResponsePart =
            switch unwrapOutboundIn(data) {
            case .head(let head): .head(.typed(head))
            case .body(let body): .body(body)
            case .end(let trailers): .end(trailers)
            }
        context.write(wrapOutboundOut(part), promise: promise)
    }
}
