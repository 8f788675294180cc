import NIOCore

/// What one connection may take of a listener's time, as a value that returns actions
/// (`ConnectionGuard` carries them out): a request head within `headTimeout` of its first byte
/// (or of the connection's opening), the next request within `idleTimeout` of the last answer,
/// a body at `minBodyBytesPerSecond` or faster, and at most `maxRequestsPerConnection` requests.
///
/// Invariants:
/// - Only the client's time counts. While the gateway owes an answer (a request fully read, its
///   answer not ended) no timer runs, so an answer that streams for longer than any timeout is
///   never cut; a body's rate counts only the time a read was outstanding, so the gateway's own
///   back-pressure (a slow upstream) is never blamed on the client.
/// - The machine never reads the clock: every event carries `now`, so tests drive it exactly.
/// - `deadline` is the earliest moment the machine could close; the handler keeps at most one
///   timer and re-arms it only when it fires or the deadline moves earlier.
struct ConnectionGuardStateMachine {
    enum CloseReason: String, Sendable {
        case headTimeout = "head_timeout"
        case idleTimeout = "idle_timeout"
        case slowBody = "slow_body"
        case maxRequests = "max_requests"
    }

    /// What the handler does with an inbound part.
    enum ReadAction: Equatable {
        case pass
        /// A part of a request past `maxRequestsPerConnection`: dropped; the connection closes after the last answer.
        case drop
    }

    /// What the handler does with an outbound part.
    enum WriteAction: Equatable {
        case pass
        /// The last answer this connection gives: mark its head `Connection: close`.
        case passMarkingClose
        /// The last answer ended: close once it is written.
        case passThenClose
    }

    private enum Inbound {
        /// Between requests, since the last answer ended (or a request ended).
        case waiting(since: NIODeadline)
        /// Bytes of a request arrived (or the connection opened); its head is not complete.
        case head(since: NIODeadline)
        /// The head is read; its body is arriving.
        case body(Body)
        /// Past the last request this connection may make.
        case done
    }

    private struct Body {
        /// Bytes in the current window.
        var bytes = 0
        /// The client's time in the current window, outstanding reads before the current one.
        var clientTime = TimeAmount.zero
    }

    let limits: ConnectionLimits
    private var inbound: Inbound
    /// Heads read.
    private var started = 0
    /// Requests read to their end.
    private var received = 0
    /// Answers ended.
    private var answered = 0
    /// A read is outstanding since then: what is awaited now is the client's.
    private var readRequestedAt: NIODeadline?

    init(limits: ConnectionLimits, openedAt now: NIODeadline) {
        self.limits = limits
        inbound = .head(since: now)
    }

    /// Whether the gateway owes an answer to a request it has read.
    private var owesAnswer: Bool { received > answered }

    /// Whether a request's head was read and its answer has not ended.
    var answering: Bool { started > answered }

    // MARK: Events

    /// The client sent bytes (before they are parsed).
    mutating func bytesArrived(_ now: NIODeadline) {
        if let requested = readRequestedAt, case .body(var body) = inbound {
            body.clientTime = body.clientTime + (now - requested)
            inbound = .body(body)
        }
        readRequestedAt = nil
        if case .waiting = inbound { inbound = .head(since: now) }
    }

    /// The gateway asked for more bytes.
    mutating func readRequested(_ now: NIODeadline) {
        if readRequestedAt == nil { readRequestedAt = now }
    }

    mutating func read(_ part: HTTPPartKind, _ now: NIODeadline) -> ReadAction {
        switch (part, inbound) {
        case (_, .done):
            return .drop
        case (.head, _):
            started += 1
            inbound = .body(Body())
            return .pass
        case (.body(let bytes), .body(var body)):
            body.bytes += bytes
            inbound = .body(body)
            return .pass
        case (.end, _):
            received += 1
            let last = limits.maxRequestsPerConnection > 0 && started >= limits.maxRequestsPerConnection
            inbound = last ? .done : .waiting(since: now)
            return .pass
        case (.body, _):
            return .pass
        }
    }

    mutating func write(_ part: HTTPPartKind, _ now: NIODeadline) -> WriteAction {
        let limit = limits.maxRequestsPerConnection
        switch part {
        case .head:
            return limit > 0 && answered + 1 >= limit ? .passMarkingClose : .pass
        case .body:
            return .pass
        case .end:
            answered += 1
            if limit > 0 && answered >= limit { return .passThenClose }
            // The client's time starts again now: what it sent during the answer was not late.
            switch inbound {
            case .waiting: inbound = .waiting(since: now)
            case .head: inbound = .head(since: now)
            case .body, .done: break
            }
            return .pass
        }
    }

    // MARK: Time

    /// When the machine must next be asked whether to close; nil while nothing of the client's is awaited.
    var deadline: NIODeadline? {
        guard !owesAnswer else { return nil }
        switch inbound {
        case .waiting(let since): return since + limits.idleTimeout
        case .head(let since): return since + limits.headTimeout
        case .body(let body):
            guard let requested = readRequestedAt else { return nil }
            return requested + (limits.bodyWindow - body.clientTime)
        case .done: return nil
        }
    }

    /// At or after `deadline`: why the connection closes, if it does.
    mutating func expire(_ now: NIODeadline) -> CloseReason? {
        guard !owesAnswer else { return nil }
        switch inbound {
        case .waiting(let since): return now >= since + limits.idleTimeout ? .idleTimeout : nil
        case .head(let since): return now >= since + limits.headTimeout ? .headTimeout : nil
        case .body(var body):
            guard let requested = readRequestedAt else { return nil }
            let clientTime = body.clientTime + (now - requested)
            guard clientTime >= limits.bodyWindow else { return nil }
            let seconds = Double(limits.bodyWindow.nanoseconds) / 1e9
            if Double(body.bytes) < Double(limits.minBodyBytesPerSecond) * seconds { return .slowBody }
            body = Body()
            inbound = .body(body)
            readRequestedAt = now
            return nil
        case .done: return nil
        }
    }
}

/// The part of an HTTP message a guard needs: which kind, and a body part's size.
enum HTTPPartKind: Equatable {
    case head
    case body(Int)
    case end
}
