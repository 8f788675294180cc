import NIOCore
import NIOHTTP1

/// What `ProxyFastPath` does with each part, read and event on its connection, as a value that
/// returns actions (the handler only carries them out): which request it answers itself, which
/// parts go on to Hummingbird, and what waits while it answers.
///
/// Invariants:
/// - Answers leave in request order: while Hummingbird owes an answer (`owed` is not empty), every
///   new request goes to Hummingbird too; while one is answered here, what arrives waits in
///   `queued` and is replayed, in order, once it is answered.
/// - Reading pauses only once something waits (a pipelined request), so what waits stays bounded
///   by one read.
/// - Events (a shutdown's quiesce) that arrive while a request is answered here wait for the
///   answer: Hummingbird would close a connection it sees as idle.
/// - Hummingbird hears that a read completed only when it was handed a part since it last heard
///   so: a connection served here alone costs its handlers nothing per request.
/// - An answer Hummingbird writes to a `HEAD` leaves without a body: this listener's NIO encoder is
///   not told the requests' methods (`ListenerChannel`), so the handler writes such an answer's head
///   itself and drops its body.
struct FastPathStateMachine {
    private enum State {
        case idle
        /// A head without a declared body, held until its end arrives.
        case holding(HTTPRequestHead)
        /// A request answered here; what arrives meanwhile waits.
        case answering
    }

    /// What to do with a part that was read.
    enum ReadAction {
        /// Nothing now (held or waiting).
        case none
        /// Pass it on to Hummingbird.
        case pass(HTTPServerRequestPart)
        /// Pass the held head on to Hummingbird, then this part.
        case passHeld(HTTPRequestHead, then: HTTPServerRequestPart)
        /// Answer this request here.
        case answer(HTTPRequestHead)
    }

    /// What to do with a part of an answer on its way out.
    enum WriteAction: Equatable {
        /// Write it as it is.
        case pass
        /// A part of Hummingbird's answer to a `HEAD`: write the head without a body, drop body
        /// parts, end it.
        case bodiless
    }

    private var state = State.idle
    /// Requests handed to Hummingbird whose answer has not ended, in order: whether each is a `HEAD`.
    private var owed = CircularBuffer<Bool>(initialCapacity: 2)
    private var queued: [HTTPServerRequestPart] = []
    private var deferredEvents: [Any] = []
    private var heldRead = false
    private var passedSinceReadComplete = false

    var isAnswering: Bool {
        if case .answering = state { true } else { false }
    }

    mutating func read(_ part: HTTPServerRequestPart) -> ReadAction {
        switch (part, state) {
        case (_, .answering):
            queued.append(part)
            return .none
        case (.head(let head), .idle) where owed.isEmpty && Self.isCandidate(head):
            state = .holding(head)
            return .none
        case (.head(let head), _):
            owed.append(head.method == .HEAD)
            passedSinceReadComplete = true
            return .pass(part)
        case (.body, .holding(let head)):
            return handOver(head, then: part)
        case (.end, .holding(let head)):
            state = .answering
            return .answer(head)
        default:
            passedSinceReadComplete = true
            return .pass(part)
        }
    }

    /// A read completed: whether to tell Hummingbird (it was handed a part since it last heard).
    mutating func readComplete() -> Bool {
        defer { passedSinceReadComplete = false }
        return passedSinceReadComplete
    }

    /// The handler could not take the request it was told to answer: Hummingbird gets it whole.
    mutating func declined(_ head: HTTPRequestHead, end: HTTPServerRequestPart) -> ReadAction {
        handOver(head, then: end)
    }

    /// A part of an answer is written: one of Hummingbird's while it owes any (the handler's own
    /// streamed answers are written only while it owes none).
    mutating func write(_ part: HTTPServerResponsePart) -> WriteAction {
        guard let toHead = owed.first else { return .pass }
        if case .end = part { owed.removeFirst() }
        return toHead ? .bodiless : .pass
    }

    /// Whether to pass a read request on now; false holds it until the answer here is done.
    mutating func readRequested() -> Bool {
        guard isAnswering, !queued.isEmpty else { return true }
        heldRead = true
        return false
    }

    /// Whether to pass an event on now; false defers it until the answer here is done.
    mutating func event(_ event: Any) -> Bool {
        guard isAnswering else { return true }
        deferredEvents.append(event)
        return false
    }

    /// The request answered here is done: the events it deferred, to pass on now, and whether
    /// parts waited (replay them with `nextQueued`, then complete the read).
    mutating func answered() -> (events: [Any], queued: Bool) {
        state = .idle
        let events = deferredEvents
        deferredEvents = []
        return (events, !queued.isEmpty)
    }

    /// The next part that waited, while nothing is answered here.
    mutating func nextQueued() -> HTTPServerRequestPart? {
        guard !isAnswering, !queued.isEmpty else { return nil }
        return queued.removeFirst()
    }

    /// Whether a read request held during the answer should be made now.
    mutating func releaseHeldRead() -> Bool {
        guard heldRead, !isAnswering else { return false }
        heldRead = false
        return true
    }

    private mutating func handOver(_ head: HTTPRequestHead, then part: HTTPServerRequestPart) -> ReadAction {
        state = .idle
        owed.append(head.method == .HEAD)
        passedSinceReadComplete = true
        return .passHeld(head, then: part)
    }

    /// HTTP/1.1, keep-alive, and no body declared.
    static func isCandidate(_ head: HTTPRequestHead) -> Bool {
        head.version == .http1_1 && head.isKeepAlive && !head.headers.contains(name: "transfer-encoding")
            && head.headers.first(name: "content-length").map { $0 == "0" } ?? true
    }
}
