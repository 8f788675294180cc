import NIOCore
import NIOHTTP1
import Testing

@testable import GatewayRuntime

/// An upstream connection's exchanges on their own: no channel, only the actions they return.
@Suite("Upstream connection state machine")
struct UpstreamConnectionStateMachineTests {
    static func head(_ status: HTTPResponseStatus = .ok, _ headers: [(String, String)] = []) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))
    }

    static func bytes(_ count: Int) -> ByteBuffer { ByteBuffer(repeating: UInt8(ascii: "x"), count: count) }

    static func describe(_ action: UpstreamConnectionStateMachine.ReadAction) -> String {
        switch action {
        case .none: "none"
        case .headReceived: "head"
        case .startStream(let head, let first): "startStream \(head.status.code) \(first.readableBytes)"
        case .yield(let part): "yield \(part.readableBytes)"
        case .deliver(let head, let body, let reuse): "deliver \(head.status.code) \(body?.readableBytes ?? 0) reuse \(reuse)"
        case .finishStream(let reuse): "finishStream reuse \(reuse)"
        case .fail(let action): "fail \(action)"
        }
    }

    private func run(_ machine: inout UpstreamConnectionStateMachine, _ parts: [HTTPClientResponsePart], open: Bool = true) -> [String] {
        parts.map { Self.describe(machine.read($0, connectionOpen: open)) }
    }

    /// Calls a mutating member where `#expect` cannot.
    static func on<T>(_ machine: inout UpstreamConnectionStateMachine, _ call: (inout UpstreamConnectionStateMachine) -> T) -> T {
        call(&machine)
    }

    static let request = UpstreamRequestHead.Writer(method: .PUT, path: "/contacts/a").finish(framing: .length(10))

    /// Begins an exchange and writes its request whole (head, a body, end); returns its number.
    @discardableResult
    static func sendWhole(_ machine: inout UpstreamConnectionStateMachine) -> Int {
        guard case .start(let exchange) = machine.begin() else { return 0 }
        for part: UpstreamRequestPart in [.head(request), .body(bytes(10)), .end(nil)] {
            #expect(on(&machine) { $0.write(part, exchange: exchange, channelOpen: true) })
        }
        return exchange
    }

    @Test func aShortAnswerIsDeliveredWholeAndTheConnectionReused() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        #expect(Self.sendWhole(&machine) == 1)
        #expect(
            run(&machine, [.head(Self.head(.continue)), .head(Self.head()), .body(Self.bytes(40)), .body(Self.bytes(50)), .end(nil)])
                == ["none", "head", "none", "none", "deliver 200 90 reuse true"])
        // Ready for the next exchange, now a reused connection.
        do {
            let result = machine.begin()
            #expect(result == .start(exchange: 2))
        }
        #expect(machine.isReused)
    }

    @Test func oneExchangeAtATime() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        do {
            let result = machine.begin()
            #expect(result == .start(exchange: 1))
        }
        do {
            let result = machine.begin()
            #expect(result == .refuse(.closedBeforeHead(reused: false, requestWritten: false)))
        }
    }

    @Test func aLongAnswerStreamsAndReadsFollowTheConsumer() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&machine)
        do {
            let actions = run(&machine, [.head(Self.head()), .body(Self.bytes(60)), .body(Self.bytes(60))])
            #expect(actions == ["head", "none", "startStream 200 120"])
        }
        machine.yielded(wantsMore: false)
        do {
            let result = machine.readRequested()
            #expect(!result)
        }
        // Silence while the consumer does not want more is not HighLevel's fault.
        do {
            let result = machine.idleTimeout()
            #expect(result == .none)
        }
        do {
            let result = machine.consumerWantsMore()
            #expect(result)
        }
        do {
            let result = machine.consumerWantsMore()
            #expect(!result)
        }
        do {
            let result = machine.readRequested()
            #expect(result)
        }
        do {
            let actions = run(&machine, [.body(Self.bytes(10)), .end(nil)])
            #expect(actions == ["yield 10", "finishStream reuse true"])
        }
    }

    @Test func whoeverClosesTheConnectionItIsNotReused() {
        var closing = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&closing)
        do {
            let actions = run(&closing, [.head(Self.head(.ok, [("Connection", "close")])), .end(nil)])
            #expect(actions == ["head", "deliver 200 0 reuse false"])
        }
        #expect(closing.isClosed)
        var dropped = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&dropped)
        do {
            let actions = run(&dropped, [.head(Self.head()), .end(nil)], open: false)
            #expect(actions == ["head", "deliver 200 0 reuse false"])
        }
    }

    @Test func aDroppedConnectionFailsWhatWaitsOnIt() {
        var beforeHead = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = beforeHead.begin()
        do {
            let result = beforeHead.inactive()
            #expect(result == .failHead(.closedBeforeHead(reused: false, requestWritten: false)))
        }
        do {
            let result = beforeHead.inactive()
            #expect(result == .nothing)
        }

        var midBody = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&midBody)
        _ = run(&midBody, [.head(Self.head()), .body(Self.bytes(10))])
        do {
            let result = midBody.inactive()
            #expect(result == .failHead(.bodyInterrupted))
        }

        var midStream = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&midStream)
        _ = run(&midStream, [.head(Self.head()), .body(Self.bytes(200))])
        do {
            let result = midStream.inactive()
            #expect(result == .failStream)
        }
    }

    @Test func timeoutsAndOutOfStepBytes() {
        var waiting = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = waiting.begin()
        do {
            let result = waiting.headTimedOut()
            #expect(result == .failHead(.timedOut))
        }
        #expect(waiting.isClosed)

        var idle = UpstreamConnectionStateMachine(bufferLimit: 100)
        do {
            let result = idle.idleTimeout()
            #expect(result == .close)
        }

        var silent = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = silent.begin()
        _ = run(&silent, [.head(Self.head())])
        do {
            let result = silent.idleTimeout()
            #expect(result == .fail(.failHead(.bodyInterrupted)))
        }

        var outOfStep = UpstreamConnectionStateMachine(bufferLimit: 100)
        do {
            let actions = run(&outOfStep, [.body(Self.bytes(1))])
            #expect(actions == ["fail closeOnly"])
        }
    }

    @Test func aConsumerThatLeavesClosesTheStreamedConnection() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 10)
        do {
            let result = machine.consumerGone()
            #expect(!result)
        }
        _ = machine.begin()
        _ = run(&machine, [.head(Self.head()), .body(Self.bytes(20))])
        do {
            let result = machine.consumerGone()
            #expect(result)
        }
        #expect(machine.isClosed)
    }

    // MARK: The two halves of an exchange

    @Test func anAnswerBeforeTheRequestsEndIsDeliveredAndTheConnectionClosed() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        guard case .start(let exchange) = machine.begin() else { return #expect(Bool(false)) }
        #expect(Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange, channelOpen: true) })
        #expect(Self.on(&machine) { $0.write(.body(Self.bytes(200)), exchange: exchange, channelOpen: true) })
        // HighLevel answers 413 before reading the rest, and keeps the connection open.
        #expect(run(&machine, [.head(Self.head(.payloadTooLarge)), .end(nil)]) == ["head", "deliver 413 0 reuse false"])
        #expect(machine.isClosed)
        // The rest of that body is never written, nor is anything else.
        #expect(!Self.on(&machine) { $0.write(.body(Self.bytes(10)), exchange: exchange, channelOpen: true) })
        #expect(!Self.on(&machine) { $0.write(.end(nil), exchange: exchange, channelOpen: true) })
        #expect(Self.on(&machine) { $0.begin() } == .refuse(.closedBeforeHead(reused: false, requestWritten: false)))
    }

    @Test func aStreamedAnswerBeforeTheRequestsEndClosesTheConnectionAtItsEnd() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 10)
        guard case .start(let exchange) = machine.begin() else { return #expect(Bool(false)) }
        #expect(Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange, channelOpen: true) })
        #expect(run(&machine, [.head(Self.head()), .body(Self.bytes(20)), .end(nil)]) == ["head", "startStream 200 20", "finishStream reuse false"])
        #expect(machine.isClosed)
    }

    @Test func onlyTheCurrentExchangeWritesInOrder() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        #expect(!Self.on(&machine) { $0.write(.head(Self.request), exchange: 0, channelOpen: true) }, "nothing is written between exchanges")
        guard case .start(let exchange) = machine.begin() else { return #expect(Bool(false)) }
        #expect(!Self.on(&machine) { $0.write(.body(Self.bytes(1)), exchange: exchange, channelOpen: true) }, "a body before its head")
        #expect(!Self.on(&machine) { $0.write(.end(nil), exchange: exchange, channelOpen: true) }, "an end before its head")
        #expect(!Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange + 1, channelOpen: true) }, "another exchange's part")
        #expect(Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange, channelOpen: true) })
        #expect(!Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange, channelOpen: true) }, "a second head")
        #expect(Self.on(&machine) { $0.write(.end(nil), exchange: exchange, channelOpen: true) })
        #expect(!Self.on(&machine) { $0.write(.body(Self.bytes(1)), exchange: exchange, channelOpen: true) }, "a part after the end")
        #expect(run(&machine, [.head(Self.head()), .end(nil)]) == ["head", "deliver 200 0 reuse true"])
        // The next exchange on the kept connection: the earlier one's number writes nothing.
        guard case .start(let next) = machine.begin() else { return #expect(Bool(false)) }
        #expect(!Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange, channelOpen: true) })
        #expect(Self.on(&machine) { $0.write(.head(Self.request), exchange: next, channelOpen: true) })
    }

    @Test func anAbandonedRequestClosesTheConnection() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        guard case .start(let exchange) = machine.begin() else { return #expect(Bool(false)) }
        #expect(Self.on(&machine) { $0.write(.head(Self.request), exchange: exchange, channelOpen: true) })
        #expect(Self.on(&machine) { $0.abandon(exchange: exchange) } == .failHead(.requestAbandoned))
        #expect(machine.isClosed)
        #expect(Self.on(&machine) { $0.abandon(exchange: exchange) } == .nothing)

        // Abandoning an exchange that is over touches neither it nor the next one.
        var kept = UpstreamConnectionStateMachine(bufferLimit: 100)
        let first = Self.sendWhole(&kept)
        _ = run(&kept, [.head(Self.head()), .end(nil)])
        let second = Self.sendWhole(&kept)
        #expect(Self.on(&kept) { $0.abandon(exchange: first) } == .nothing)
        #expect(Self.on(&kept) { $0.abandon(exchange: second) } == .nothing, "a request written whole is not abandoned")
        #expect(run(&kept, [.head(Self.head()), .end(nil)]) == ["head", "deliver 200 0 reuse true"])
    }

    @Test func aSwitchOfProtocolsIsOutOfStep() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&machine)
        #expect(run(&machine, [.head(Self.head(.switchingProtocols))]) == ["fail failHead(\(String(reflecting: UpstreamFailure.outOfStep)))"])
        #expect(machine.isClosed)
    }

    @Test func aDropBeforeTheHeadSaysWhetherTheRequestMayHaveLeft() {
        // Written while the channel was open: it may have reached HighLevel.
        var written = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&written)
        #expect(Self.on(&written) { $0.inactive() } == .failHead(.closedBeforeHead(reused: false, requestWritten: true)))

        // A kept connection that was already closed when the head was written: nothing left.
        var stale = UpstreamConnectionStateMachine(bufferLimit: 100)
        Self.sendWhole(&stale)
        _ = run(&stale, [.head(Self.head()), .end(nil)])
        guard case .start(let exchange) = stale.begin() else { return #expect(Bool(false)) }
        #expect(Self.on(&stale) { $0.write(.head(Self.request), exchange: exchange, channelOpen: false) })
        #expect(Self.on(&stale) { $0.inactive() } == .failHead(.closedBeforeHead(reused: true, requestWritten: false)))
    }
}
