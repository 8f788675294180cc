import NIOCore
import NIOHTTP1
import Testing

@testable import GatewayServer

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

    @Test func aShortAnswerIsDeliveredWholeAndTheConnectionReused() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        do {
            let result = machine.begin()
            #expect(result == .start)
        }
        #expect(run(&machine, [.head(Self.head(.continue)), .head(Self.head()), .body(Self.bytes(40)), .body(Self.bytes(50)), .end(nil)])
            == ["none", "head", "none", "none", "deliver 200 90 reuse true"])
        // Ready for the next exchange, now a reused connection.
        do {
            let result = machine.begin()
            #expect(result == .start)
        }
        #expect(machine.isReused)
    }

    @Test func oneExchangeAtATime() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        do {
            let result = machine.begin()
            #expect(result == .start)
        }
        do {
            let result = machine.begin()
            #expect(result == .refuse(.closedBeforeHead(reused: false)))
        }
    }

    @Test func aLongAnswerStreamsAndReadsFollowTheConsumer() {
        var machine = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = machine.begin()
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
        _ = closing.begin()
        do {
            let actions = run(&closing, [.head(Self.head(.ok, [("Connection", "close")])), .end(nil)])
            #expect(actions == ["head", "deliver 200 0 reuse false"])
        }
        #expect(closing.isClosed)
        var dropped = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = dropped.begin()
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
            #expect(result == .failHead(.closedBeforeHead(reused: false)))
        }
        do {
            let result = beforeHead.inactive()
            #expect(result == .nothing)
        }

        var midBody = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = midBody.begin()
        _ = run(&midBody, [.head(Self.head()), .body(Self.bytes(10))])
        do {
            let result = midBody.inactive()
            #expect(result == .failHead(.bodyInterrupted))
        }

        var midStream = UpstreamConnectionStateMachine(bufferLimit: 100)
        _ = midStream.begin()
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
}
