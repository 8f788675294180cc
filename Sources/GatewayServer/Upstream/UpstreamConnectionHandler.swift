import NIOCore
import NIOHTTP1

/// One keep-alive HTTP/1.1 connection to HighLevel, serving one exchange at a time on its event
/// loop. A response that ends within `bufferLimit` is handed over whole in one step; a longer one
/// becomes a stream and the connection reads only when that stream's consumer asks for more.
final class UpstreamConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// Bodies up to this size are delivered whole.
    static let bufferLimit = 256 * 1024

    private enum State {
        /// In the pool, or between exchanges.
        case idle
        case awaitingHead(EventLoopPromise<UpstreamResponse>)
        case buffering(HTTPResponseHead, ByteBuffer?, EventLoopPromise<UpstreamResponse>)
        case streaming(UpstreamBodyStream.Source)
        case closed
    }

    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var keepAlive = true
    private var exchanges = 0
    private var headTimer: Scheduled<Void>?
    /// Whether the consumer of a streamed body wants more; reads are held back while it does not.
    private var demand = true
    private var heldRead = false
    /// Called on the loop when an exchange ended and the connection can serve another.
    var onReusable: ((Channel) -> Void)?

    /// Whether the connection has served an exchange before the current one.
    var isReused: Bool { exchanges > 1 }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Starts an exchange: the response (or failure) completes `promise`. The caller writes the
    /// request right after, on the loop.
    func begin(_ promise: EventLoopPromise<UpstreamResponse>, headTimeout: TimeAmount) {
        guard case .idle = state, let context else {
            promise.fail(UpstreamFailure.closedBeforeHead(reused: isReused))
            return
        }
        exchanges += 1
        keepAlive = true
        demand = true
        state = .awaitingHead(promise)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        headTimer = context.eventLoop.scheduleTask(in: headTimeout) { handler.value.fail(UpstreamFailure.timedOut) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingHead(let promise)):
            // 1xx heads are interim; the final head follows.
            guard head.status.code >= 200 else { return }
            headTimer?.cancel()
            keepAlive = head.isKeepAlive
            state = .buffering(head, nil, promise)
        case (.body(var part), .buffering(let head, var body, let promise)):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
            guard body!.readableBytes > Self.bufferLimit else {
                state = .buffering(head, body, promise)
                return
            }
            let demand = UpstreamBodyDemand(handler: NIOLoopBound(self, eventLoop: context.eventLoop))
            let stream = UpstreamBodyStream.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
            state = .streaming(stream.source)
            promise.succeed(UpstreamResponse(head: head, body: .streamed(stream.sequence)))
            if stream.source.yield(body!) == .stopProducing { self.demand = false }
        case (.body(let part), .streaming(let source)):
            if source.yield(part) == .stopProducing { demand = false }
        case (.end, .buffering(let head, let body, let promise)):
            finishExchange(context)
            promise.succeed(UpstreamResponse(head: head, body: .buffered(body)))
        case (.end, .streaming(let source)):
            finishExchange(context)
            source.finish()
        default:
            // Anything else (bytes while idle, a second head) means the connection is out of step.
            fail(UpstreamFailure.bodyInterrupted)
        }
    }

    func read(context: ChannelHandlerContext) {
        if demand {
            context.read()
        } else {
            heldRead = true
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch state {
        case .idle:
            // A pooled connection unused for the read timeout is let go.
            context.close(promise: nil)
        case .buffering:
            fail(UpstreamFailure.bodyInterrupted)
        case .streaming:
            // Silence is HighLevel's only while the consumer wants more.
            if demand { fail(UpstreamFailure.bodyInterrupted) }
        case .awaitingHead, .closed:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(UpstreamFailure.closedBeforeHead(reused: isReused))
        state = .closed
        context.fireChannelInactive()
    }

    /// The streamed body's consumer wants more.
    func resumeReading() {
        demand = true
        if heldRead, let context {
            heldRead = false
            context.read()
        }
    }

    /// The streamed body's consumer went away before the end: the rest cannot be skipped cheaply.
    func consumerGone() {
        guard case .streaming(let source) = state else { return }
        source.finish()
        state = .closed
        context?.close(promise: nil)
    }

    private func finishExchange(_ context: ChannelHandlerContext) {
        headTimer?.cancel()
        state = .idle
        if keepAlive, context.channel.isActive {
            onReusable?(context.channel)
        } else {
            context.close(promise: nil)
        }
    }

    /// Ends the exchange in progress with `failure` (a head not yet seen is `closedBeforeHead` or
    /// `timedOut`; once it was seen, the body is `bodyInterrupted`) and closes the connection.
    private func fail(_ failure: UpstreamFailure) {
        headTimer?.cancel()
        switch state {
        case .awaitingHead(let promise):
            promise.fail(failure)
        case .buffering(_, _, let promise):
            promise.fail(failure == .timedOut ? failure : UpstreamFailure.bodyInterrupted)
        case .streaming(let source):
            source.finish(UpstreamFailure.bodyInterrupted)
        case .idle, .closed:
            break
        }
        if case .closed = state { return }
        state = .closed
        context?.close(promise: nil)
    }
}
