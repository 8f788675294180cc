import NIOCore
import NIOHTTP1

/// One upstream connection's exchanges as a value that returns actions; `UpstreamConnectionHandler`
/// carries them out (it holds the promise, the stream's source and the timer).
///
/// Invariants:
/// - One exchange at a time: `begin` is accepted only while idle.
/// - A body is held until it ends or passes `bufferLimit`; then it becomes a stream, and from then
///   on the connection reads only while the stream's consumer wants more (`demand`).
/// - An exchange ends exactly once: delivered (then the connection is reused when both sides keep
///   it alive, else closed) or failed (then the connection is closed).
struct UpstreamConnectionStateMachine {
    private enum State {
        /// In the pool, or between exchanges.
        case idle
        case awaitingHead
        case buffering(HTTPResponseHead, ByteBuffer?)
        case streaming
        case closed
    }

    enum BeginAction: Equatable {
        /// Send the request and start the head timer.
        case start
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
        /// Nothing waits (idle); close all the same.
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
        guard case .idle = state else { return .refuse(.closedBeforeHead(reused: isReused)) }
        exchanges += 1
        keepAlive = true
        demand = true
        state = .awaitingHead
        return .start
    }

    /// A part of HighLevel's answer; `connectionOpen` says whether the channel can be reused after it.
    mutating func read(_ part: HTTPClientResponsePart, connectionOpen: Bool) -> ReadAction {
        switch (part, state) {
        case (.head(let head), .awaitingHead):
            // 1xx heads are interim; the final head follows.
            guard head.status.code >= 200 else { return .none }
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
            return .fail(fail(.bodyInterrupted))
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
        state = .closed
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
        let action = fail(.closedBeforeHead(reused: isReused))
        state = .closed
        return action
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
        state = .closed
        return action
    }

    private mutating func finish(_ connectionOpen: Bool) -> Bool {
        state = .idle
        guard keepAlive, connectionOpen else {
            state = .closed
            return false
        }
        return true
    }
}
