import NIOCore
import NIOHTTP1

/// Called once, on the connection's loop, with an exchange's response or why there is none.
package typealias UpstreamCompletion = @Sendable (Result<UpstreamResponse, any Error>) -> Void

/// One keep-alive HTTP/1.1 connection to HighLevel, serving one exchange at a time on its event
/// loop. A response that ends within `bufferLimit` is handed over whole in one step; a longer one
/// becomes a stream and the connection reads only when that stream's consumer asks for more.
/// What happens when is `UpstreamConnectionStateMachine`'s; this handler carries out its actions
/// and holds what they act on (the completion, the stream's source, the head timer).
///
/// A request reaches HighLevel only through `write(_:exchange:promise:)`, which the machine
/// checks against the exchange in progress; anything written to the channel from outside is
/// refused. So a late part of an abandoned or early-answered request can never land inside the
/// next caller's request.
///
/// The head timer is armed once and re-armed only when it fires before the current exchange's
/// deadline: a keep-alive connection serving thousands of exchanges a second schedules a timer
/// about once per head timeout, not once per exchange.
final class UpstreamConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = UpstreamRequestPart
    typealias OutboundOut = UpstreamRequestPart

    /// Bodies up to this size are delivered whole.
    static let bufferLimit = 256 * 1024

    private var machine = UpstreamConnectionStateMachine(bufferLimit: UpstreamConnectionHandler.bufferLimit)
    private var context: ChannelHandlerContext?
    private var completion: UpstreamCompletion?
    private var source: UpstreamBodyStream.Source?
    /// When the current exchange's head is due; nil once it arrived (or between exchanges).
    private var headDeadline: NIODeadline?
    /// The one head timer, and when it fires (at or before `headDeadline`).
    private var headTimer: (task: Scheduled<Void>, firesAt: NIODeadline)?
    /// The connection this handler serves.
    let channel: any Channel
    /// Called on the loop when an exchange ended and the connection can serve another.
    var onReusable: ((UpstreamConnectionHandler) -> Void)?

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Whether the connection has served an exchange before the current one.
    var isReused: Bool { machine.isReused }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Starts an exchange: `completion` is called once, on the loop, with the response (or
    /// failure). Returns the exchange's number, which each part of its request names (`write`);
    /// nil when the connection cannot take one.
    func begin(_ completion: @escaping UpstreamCompletion, headTimeout: TimeAmount) -> Int? {
        guard let context else {
            completion(.failure(UpstreamFailure.closedBeforeHead(reused: isReused, requestWritten: false)))
            return nil
        }
        switch machine.begin() {
        case .refuse(let failure):
            completion(.failure(failure))
            return nil
        case .start(let exchange):
            self.completion = completion
            let deadline = context.eventLoop.now + headTimeout
            headDeadline = deadline
            if headTimer.map({ $0.firesAt > deadline }) ?? true { armHeadTimer(at: deadline, context.eventLoop) }
            return exchange
        }
    }

    /// Writes a part of exchange `exchange`'s request, when the machine lets it; else fails `promise`.
    func write(_ part: UpstreamRequestPart, exchange: Int, promise: EventLoopPromise<Void>?) {
        guard let context, machine.write(part, exchange: exchange, channelOpen: context.channel.isActive) else {
            promise?.fail(UpstreamFailure.outOfStep)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }

    func flush() { context?.flush() }

    /// The caller will not finish exchange `exchange`'s request: close unless it is over.
    func abandon(exchange: Int) {
        perform(machine.abandon(exchange: exchange))
    }

    /// Writes from outside an exchange are refused (see the type's comment).
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.fail(UpstreamFailure.outOfStep)
    }

    private func armHeadTimer(at deadline: NIODeadline, _ loop: any EventLoop) {
        headTimer?.task.cancel()
        let handler = NIOLoopBound(self, eventLoop: loop)
        headTimer = (loop.scheduleTask(deadline: deadline) { handler.value.headTimerFired(loop) }, deadline)
    }

    private func headTimerFired(_ loop: any EventLoop) {
        headTimer = nil
        guard let deadline = headDeadline else { return }
        if deadline <= loop.now {
            perform(machine.headTimedOut())
        } else {
            armHeadTimer(at: deadline, loop)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch machine.read(unwrapInboundIn(data), connectionOpen: context.channel.isActive) {
        case .none:
            break
        case .headReceived:
            headDeadline = nil
        case .startStream(let head, let first):
            let demand = UpstreamBodyDemand(handler: NIOLoopBound(self, eventLoop: context.eventLoop))
            let stream = UpstreamBodyStream.makeSequence(
                backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
            source = stream.source
            takeCompletion()?(.success(UpstreamResponse(head: head, body: .streamed(stream.sequence))))
            yield(first)
        case .yield(let part):
            yield(part)
        case .deliver(let head, let body, let reuse):
            // Back in the pool before the answer's callbacks run, so the next request can take it.
            let completion = takeCompletion()
            release(context, reuse: reuse)
            completion?(.success(UpstreamResponse(head: head, body: .buffered(body))))
        case .finishStream(let reuse):
            let source = self.source
            self.source = nil
            release(context, reuse: reuse)
            source?.finish()
        case .fail(let action):
            perform(action)
        }
    }

    func read(context: ChannelHandlerContext) {
        if machine.readRequested() { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch machine.idleTimeout() {
        case .none: break
        case .close: context.close(promise: nil)
        case .fail(let action): perform(action)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        perform(machine.inactive())
        context.fireChannelInactive()
    }

    /// The streamed body's consumer wants more.
    func resumeReading() {
        if machine.consumerWantsMore() { context?.read() }
    }

    /// The streamed body's consumer went away before the end.
    func consumerGone() {
        guard machine.consumerGone() else { return }
        source?.finish()
        source = nil
        context?.close(promise: nil)
    }

    private func yield(_ part: ByteBuffer) {
        guard let source else { return }
        machine.yielded(wantsMore: source.yield(part) != .stopProducing)
    }

    private func takeCompletion() -> UpstreamCompletion? {
        defer { completion = nil }
        return completion
    }

    private func release(_ context: ChannelHandlerContext, reuse: Bool) {
        if reuse {
            onReusable?(self)
        } else {
            context.close(promise: nil)
        }
    }

    private func perform(_ action: UpstreamConnectionStateMachine.FailAction) {
        if action == .nothing { return }
        headDeadline = nil
        headTimer?.task.cancel()
        headTimer = nil
        switch action {
        case .failHead(let failure): takeCompletion()?(.failure(failure))
        case .failStream:
            source?.finish(UpstreamFailure.bodyInterrupted)
            source = nil
        case .closeOnly, .nothing: break
        }
        context?.close(promise: nil)
    }
}
