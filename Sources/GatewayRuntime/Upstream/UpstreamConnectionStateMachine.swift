import NIOCore
import NIOHTTP1

/// One upstream connection's exchanges as a value that returns actions; `UpstreamConnectionHandler`
/// carries them out (it holds the promise, the stream's source and the timer).
///
/// An exchange has two halves, the request the gateway writes and the answer HighLevel sends, and
/// they need not end together: HighLevel may answer (401, 413, 429) before it read the body, and
/// a caller may stop sending half way. Invariants:
/// - One exchange at a time: `begin` is accepted only while idle, and numbers the exchange.
/// - Only the current exchange writes, only while its request is open, head first and `end`
///   last (`write`). Nothing else reaches the connection: a late part of an earlier exchange,
///   or a part after its `end`, is refused.
/// - **A connection is reused only when the request was written whole (its `end` handed to the
///   channel, which writes parts in order, so the next request cannot start inside this one) and
///   the answer was read whole, and both sides keep it alive.** An answer that ends before its
///   request is delivered all the same, and then the connection is closed: the rest of that request
///   is never written, and nothing else is ever written after it. The same when the request is
///   abandoned (`abandon`), when HighLevel closes, or when either side says `Connection: close`.
/// - A body is held until it ends or passes `bufferLimit`; then it becomes a stream, and from then
///   on the connection reads only while the stream's consumer wants more (`demand`).
/// - An exchange ends exactly once: delivered (then the connection is reused or closed as above)
///   or failed (then the connection is closed). A failure before the answer's head says whether
///   any byte of the request may have reached HighLevel, so the pool retries only what is safe.
struct UpstreamConnectionStateMachine {
    private enum State {
        /// In the pool, or between exchanges.
        case idle
        case awaitingHead
        case buffering(HTTPResponseHead, ByteBuffer?)
        case streaming
        case closed
    }

    /// The request half of the current exchange.
    private enum Request: Equatable {
        /// No request may be written: between exchanges, or this one's ended or was abandoned.
        case shut
        /// Begun; nothing written yet.
        case awaitingHead
        /// The head was written; `mayHaveLeft` when the channel was open then (its bytes may have reached HighLevel).
        case writing(mayHaveLeft: Bool)
        /// The `end` was written.
        case complete(mayHaveLeft: Bool)

        var mayHaveLeft: Bool {
            switch self {
            case .shut, .awaitingHead: false
            case .writing(let left), .complete(let left): left
            }
        }
    }

    enum BeginAction: Equatable {
        /// Write the request (as exchange `number`) and start the head timer.
        case start(exchange: Int)
        /// The connection cannot take an exchange now.
        case refuse(UpstreamFailure)
    }

    enum ReadAction {
        case none
        /// The final head arrived: stop the head timer.
        case headReceived
        /// The body passed the limit: answer with a stream, and yield this first part to it.
        case startStream(HTTPResponseHead, first: ByteBuffer)
        /// Yield this part to the stream.
        case yield(ByteBuffer)
        /// The exchange ended within the limit: answer whole, then reuse or close the connection.
        case deliver(HTTPResponseHead, ByteBuffer?, reuse: Bool)
        /// The streamed body ended: finish the stream, then reuse or close the connection.
        case finishStream(reuse: Bool)
        /// The exchange failed: fail whatever waits on it and close.
        case fail(FailAction)
    }

    /// How to fail the exchange in progress.
    enum FailAction: Equatable {
        /// Fail the promise that waits for the head.
        case failHead(UpstreamFailure)
        /// Fail the stream with `bodyInterrupted`.
        case failStream
        /// Nothing waits (idle, or the answer was already delivered); close all the same.
        case closeOnly
        /// Already closed: nothing to do.
        case nothing
    }

    enum IdleAction: Equatable {
        case none
        /// A pooled connection unused for the read timeout is let go.
        case close
        case fail(FailAction)
    }

    /// Bodies up to this size are delivered whole.
    let bufferLimit: Int
    private var state = State.idle
    private var request = Request.shut
    private var keepAlive = true
    private var exchanges = 0
    private var demand = true
    private var heldRead = false

    init(bufferLimit: Int) {
        self.bufferLimit = bufferLimit
    }

    /// Whether the connection has served an exchange before the current one.
    var isReused: Bool { exchanges > 1 }

    var isClosed: Bool {
        if case .closed = state { true } else { false }
    }

    mutating func begin() -> BeginAction {
        guard case .idle = state else {
            return .refuse(.closedBeforeHead(reused: isReused, requestWritten: false))
        }
        exchanges += 1
        demand = true
        state = .awaitingHead
        request = .awaitingHead
        return .start(exchange: exchanges)
    }

    /// Whether a part of exchange `exchange`'s request may be written now; `channelOpen` says
    /// whether the channel is open (a head written to a closed one never leaves).
    mutating func write(_ part: UpstreamRequestPart, exchange: Int, channelOpen: Bool) -> Bool {
        guard exchange == exchanges, !isClosed else { return false }
        switch (part, request) {
        case (.head, .awaitingHead):
            request = .writing(mayHaveLeft: channelOpen)
            return true
        case (.body, .writing):
            return true
        case (.end, .writing(let left)):
            request = .complete(mayHaveLeft: left)
            return true
        default:
            return false
        }
    }

    /// The caller will not finish exchange `exchange`'s request (it went away, or its body is too
    /// large): fail what waits and close, unless that exchange is already over.
    mutating func abandon(exchange: Int) -> FailAction {
        guard exchange == exchanges else { return .nothing }
        switch request {
        case .awaitingHead, .writing: return fail(.requestAbandoned)
        case .shut, .complete: return .nothing
        }
    }

    /// A part of HighLevel's answer; `connectionOpen` says whether the channel can be reused after it.
    mutating func read(_ part: HTTPClientResponsePart, connectionOpen: Bool) -> ReadAction {
        switch (part, state) {
        case (.head(let head), .awaitingHead):
            // 1xx heads are interim (NIO's decoder drops them; this is the second line); the final
            // head follows. A 101 would switch protocols, which the gateway never asked for.
            guard head.status.code >= 200 else {
                return head.status == .switchingProtocols ? .fail(fail(.outOfStep)) : .none
            }
            keepAlive = head.isKeepAlive
            state = .buffering(head, nil)
            return .headReceived
        case (.body(var part), .buffering(let head, var body)):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
            guard body!.readableBytes > bufferLimit else {
                state = .buffering(head, body)
                return .none
            }
            state = .streaming
            return .startStream(head, first: body!)
        case (.body(let part), .streaming):
            return .yield(part)
        case (.end, .buffering(let head, let body)):
            return .deliver(head, body, reuse: finish(connectionOpen))
        case (.end, .streaming):
            return .finishStream(reuse: finish(connectionOpen))
        default:
            // Anything else (bytes while idle, a second head) means the connection is out of step.
            return .fail(fail(.outOfStep))
        }
    }

    /// The stream said whether it wants more after a yield.
    mutating func yielded(wantsMore: Bool) {
        if !wantsMore { demand = false }
    }

    /// Whether to read now; false holds the read until the stream's consumer wants more.
    mutating func readRequested() -> Bool {
        guard demand else {
            heldRead = true
            return false
        }
        return true
    }

    /// The stream's consumer wants more: whether to make the read that was held.
    mutating func consumerWantsMore() -> Bool {
        demand = true
        guard heldRead else { return false }
        heldRead = false
        return true
    }

    /// The stream's consumer went away before the end: whether to close (the rest cannot be skipped cheaply).
    mutating func consumerGone() -> Bool {
        guard case .streaming = state else { return false }
        close()
        return true
    }

    /// No byte arrived for the read timeout.
    mutating func idleTimeout() -> IdleAction {
        switch state {
        case .idle: .close
        case .buffering: .fail(fail(.bodyInterrupted))
        // Silence is HighLevel's only while the consumer wants more.
        case .streaming: demand ? .fail(fail(.bodyInterrupted)) : .none
        case .awaitingHead, .closed: .none
        }
    }

    /// The head timer fired.
    mutating func headTimedOut() -> FailAction { fail(.timedOut) }

    /// The channel went away.
    mutating func inactive() -> FailAction {
        fail(.closedBeforeHead(reused: isReused, requestWritten: request.mayHaveLeft))
    }

    /// Ends the exchange in progress with `failure` (a head not yet seen fails as it is, or as
    /// `timedOut`; once it was seen, as `bodyInterrupted`) and closes the connection.
    mutating func fail(_ failure: UpstreamFailure) -> FailAction {
        let action: FailAction
        switch state {
        case .awaitingHead: action = .failHead(failure)
        case .buffering: action = .failHead(failure == .timedOut ? failure : .bodyInterrupted)
        case .streaming: action = .failStream
        case .idle: action = .closeOnly
        case .closed: action = .nothing
        }
        close()
        return action
    }

    /// The answer ended: whether the connection can serve another exchange.
    private mutating func finish(_ connectionOpen: Bool) -> Bool {
        guard keepAlive, connectionOpen, case .complete = request else {
            close()
            return false
        }
        state = .idle
        request = .shut
        return true
    }

    private mutating func close() {
        state = .closed
        request = .shut
    }
}
