import NIOCore
import Testing

@testable import GatewayRuntime

@Suite("Listener: connection guard state machine")
struct ConnectionGuardStateMachineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    var limits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.headTimeout = .seconds(10)
        limits.idleTimeout = .seconds(60)
        limits.bodyWindow = .seconds(10)
        limits.minBodyBytesPerSecond = 100
        limits.maxRequestsPerConnection = 0
        return limits
    }

    private func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test func aHeadMustArriveWithinItsTimeoutOfTheFirstByte() {
        var machine = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        #expect(machine.deadline == at(10))
        #expect(machine.expire(at(9)) == nil)
        #expect(machine.expire(at(10)) == .headTimeout)
        // A full request, an answer: then the idle timeout, until a new request's first byte.
        var served = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        serve(&served, at: at(1))
        #expect(served.deadline == at(61))
        served.bytesArrived(at(30))
        #expect(served.deadline == at(40))
        #expect(served.expire(at(40)) == .headTimeout)
    }

    @Test func anIdleConnectionClosesAfterTheIdleTimeout() {
        var machine = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        serve(&machine, at: at(1))
        #expect(machine.expire(at(60)) == nil)
        #expect(machine.expire(at(61)) == .idleTimeout)
    }

    @Test func noTimerRunsWhileTheGatewayOwesAnAnswer() {
        var machine = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        machine.bytesArrived(at(0))
        _ = machine.read(.head, at(0))
        _ = machine.read(.end, at(0))
        #expect(machine.deadline == nil)
        _ = machine.write(.head, at(1))
        for second in 2..<500 { _ = machine.write(.body(1), at(Int64(second))) }
        #expect(machine.expire(at(500)) == nil)
        _ = machine.write(.end, at(500))
        // The idle time starts at the answer's end, not at the request's.
        #expect(machine.deadline == at(560))
    }

    @Test func aBodyMustArriveAtTheMinimumRateOfTheClientsTime() {
        var machine = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        machine.bytesArrived(at(0))
        _ = machine.read(.head, at(0))
        machine.readRequested(at(0))
        machine.bytesArrived(at(5))
        _ = machine.read(.body(999), at(5))
        machine.readRequested(at(5))
        #expect(machine.deadline == at(10))
        #expect(machine.expire(at(10)) == .slowBody)
    }

    @Test func theGatewaysBackPressureIsNotTheClientsTime() {
        var machine = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        machine.bytesArrived(at(0))
        _ = machine.read(.head, at(0))
        machine.readRequested(at(0))
        machine.bytesArrived(at(1))
        _ = machine.read(.body(100), at(1))
        // The gateway reads again only 100 s later (a slow upstream): no timer meanwhile.
        #expect(machine.deadline == nil)
        machine.readRequested(at(101))
        #expect(machine.deadline == at(110))
        machine.bytesArrived(at(105))
        _ = machine.read(.body(1_000), at(105))
        machine.readRequested(at(105))
        // 1,100 bytes in 10 s of the client's time: fast enough; a new window starts.
        #expect(machine.expire(at(110)) == nil)
        #expect(machine.deadline == at(120))
    }

    @Test func theLastAllowedRequestIsAnsweredWithConnectionClose() {
        var limits = self.limits
        limits.maxRequestsPerConnection = 2
        var machine = ConnectionGuardStateMachine(limits: limits, openedAt: start)
        #expect(serve(&machine, at: at(0)) == [.pass, .pass])
        #expect(machine.read(.head, at(1)) == .pass)
        #expect(machine.read(.end, at(1)) == .pass)
        // A third, pipelined request is not passed on.
        #expect(machine.read(.head, at(1)) == .drop)
        #expect(machine.write(.head, at(1)) == .passMarkingClose)
        #expect(machine.write(.end, at(1)) == .passThenClose)
    }

    /// One request without a body and its answer; the write actions.
    @discardableResult
    private func serve(_ machine: inout ConnectionGuardStateMachine, at now: NIODeadline) -> [ConnectionGuardStateMachine.WriteAction] {
        machine.bytesArrived(now)
        _ = machine.read(.head, now)
        _ = machine.read(.end, now)
        return [machine.write(.head, now), machine.write(.end, now)]
    }
}
