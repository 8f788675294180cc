import NIOHTTP1
import Testing

@testable import GatewayProxy

/// The fast path's decisions on their own: no channel, only the actions they return.
@Suite("Fast path state machine")
struct FastPathStateMachineTests {
    static func head(
        _ uri: String, _ headers: [(String, String)] = [], version: HTTPVersion = .http1_1, method: HTTPMethod = .GET
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    /// The action's kind and the request it concerns, for comparing.
    static func describe(_ action: FastPathStateMachine.ReadAction) -> String {
        func part(_ part: HTTPServerRequestPart) -> String {
            switch part {
            case .head(let head): "head \(head.uri)"
            case .body: "body"
            case .end: "end"
            }
        }
        return switch action {
        case .none: "none"
        case .pass(let passed): "pass \(part(passed))"
        case .passHeld(let head, let then): "passHeld \(head.uri) then \(part(then))"
        case .answer(let head): "answer \(head.uri)"
        }
    }

    @Test func aBodylessKeepAliveRequestIsAnsweredHereOnceItsEndArrives() {
        var machine = FastPathStateMachine()
        do {
            let action = machine.read(.head(Self.head("/a")))
            #expect(Self.describe(action) == "none")
        }
        #expect(!machine.isAnswering)
        do {
            let action = machine.read(.end(nil))
            #expect(Self.describe(action) == "answer /a")
        }
        #expect(machine.isAnswering)
    }

    @Test func aBodyOrAnotherVersionGoesToHummingbird() {
        var machine = FastPathStateMachine()
        _ = machine.read(.head(Self.head("/a")))
        do {
            let action = machine.read(.body(.init()))
            #expect(Self.describe(action) == "passHeld /a then body")
        }
        do {
            let action = machine.read(.end(nil))
            #expect(Self.describe(action) == "pass end")
        }
        _ = machine.write(.end(nil))
        do {
            let action = machine.read(.head(Self.head("/b", [("Content-Length", "4")])))
            #expect(Self.describe(action) == "pass head /b")
        }
        _ = machine.write(.end(nil))
        do {
            let action = machine.read(.head(Self.head("/c", version: .http1_0)))
            #expect(Self.describe(action) == "pass head /c")
        }
        _ = machine.write(.end(nil))
        do {
            let action = machine.read(.head(Self.head("/d", [("Connection", "close")])))
            #expect(Self.describe(action) == "pass head /d")
        }
    }

    @Test func whileHummingbirdOwesAnAnswerNewRequestsGoThereToo() {
        var machine = FastPathStateMachine()
        do {
            let action = machine.read(.head(Self.head("/upload", [("Content-Length", "4")])))
            #expect(Self.describe(action) == "pass head /upload")
        }
        _ = machine.read(.body(.init()))
        _ = machine.read(.end(nil))
        // Pipelined behind it: Hummingbird has not answered yet, so it takes this one as well.
        do {
            let action = machine.read(.head(Self.head("/next")))
            #expect(Self.describe(action) == "pass head /next")
        }
        _ = machine.read(.end(nil))
        _ = machine.write(.end(nil))
        _ = machine.write(.end(nil))
        do {
            let action = machine.read(.head(Self.head("/later")))
            #expect(Self.describe(action) == "none")
        }
        do {
            let action = machine.read(.end(nil))
            #expect(Self.describe(action) == "answer /later")
        }
    }

    @Test func pipelinedRequestsWaitForTheAnswerHereAndAreReplayedInOrder() {
        var machine = FastPathStateMachine()
        _ = machine.read(.head(Self.head("/first")))
        _ = machine.read(.end(nil))
        // A read during the answer passes until something waits; then it is held.
        do {
            let result = machine.readRequested()
            #expect(result)
        }
        do {
            let action = machine.read(.head(Self.head("/second")))
            #expect(Self.describe(action) == "none")
        }
        do {
            let action = machine.read(.end(nil))
            #expect(Self.describe(action) == "none")
        }
        do {
            let result = machine.readRequested()
            #expect(!result)
        }
        do {
            let next = machine.nextQueued()
            #expect(next == nil)
        }
        let (events, queued) = machine.answered()
        #expect(events.isEmpty && queued)
        var replayed: [String] = []
        while let part = machine.nextQueued() { replayed.append(Self.describe(machine.read(part))) }
        // The second is answered here too; nothing more waits behind it.
        #expect(replayed == ["none", "answer /second"])
        do {
            let result = machine.releaseHeldRead()
            #expect(!result)
        }
        _ = machine.answered()
        do {
            let result = machine.releaseHeldRead()
            #expect(result)
        }
        do {
            let result = machine.releaseHeldRead()
            #expect(!result)
        }
    }

    @Test func aQuiesceDuringAnAnswerWaitsForIt() {
        struct Quiesce {}
        var machine = FastPathStateMachine()
        do {
            let result = machine.event(Quiesce())
            #expect(result)
        }
        _ = machine.read(.head(Self.head("/a")))
        _ = machine.read(.end(nil))
        do {
            let result = machine.event(Quiesce())
            #expect(!result)
        }
        let (events, queued) = machine.answered()
        #expect(events.count == 1 && events.first is Quiesce)
        #expect(!queued)
        do {
            let result = machine.event(Quiesce())
            #expect(result)
        }
    }

    @Test func aDeclinedRequestGoesToHummingbirdWhole() {
        var machine = FastPathStateMachine()
        let head = Self.head("/odd")
        _ = machine.read(.head(head))
        _ = machine.read(.end(nil))
        do {
            let action = machine.declined(head, end: .end(nil))
            #expect(Self.describe(action) == "passHeld /odd then end")
        }
        #expect(!machine.isAnswering)
        // Hummingbird owes that answer: the next request goes there too.
        do {
            let action = machine.read(.head(Self.head("/next")))
            #expect(Self.describe(action) == "pass head /next")
        }
    }

    @Test func hummingbirdHearsOfACompletedReadOnlyWhenItWasHandedSomething() {
        var machine = FastPathStateMachine()
        var told: [Bool] = []
        _ = machine.read(.head(Self.head("/a")))
        _ = machine.read(.end(nil))
        told.append(machine.readComplete())
        _ = machine.answered()
        let withBody = Self.head("/b", [("Content-Length", "2")])
        #expect(Self.describe(machine.read(.head(withBody))) == "pass head /b")
        told.append(machine.readComplete())
        told.append(machine.readComplete())
        #expect(Self.describe(machine.read(.end(nil))) == "pass end")
        told.append(machine.readComplete())
        #expect(told == [false, true, false, true])
    }

    @Test func hummingbirdsAnswersToHeadAreBodilessInTheOrderTheRequestsCame() {
        var machine = FastPathStateMachine()
        let answer: [HTTPServerResponsePart] = [.head(HTTPResponseHead(version: .http1_1, status: .ok)), .body(.byteBuffer(.init())), .end(nil)]
        // A GET with a body, then a HEAD with one, both handed to Hummingbird.
        _ = machine.read(.head(Self.head("/get", [("Content-Length", "1")])))
        _ = machine.read(.end(nil))
        _ = machine.read(.head(Self.head("/head", [("Content-Length", "1")], method: .HEAD)))
        _ = machine.read(.end(nil))
        #expect(answer.map { machine.write($0) } == [.pass, .pass, .pass])
        #expect(answer.map { machine.write($0) } == [.bodiless, .bodiless, .bodiless])
        // Nothing owed: the handler's own answers (streamed) pass as they are.
        #expect(answer.map { machine.write($0) } == [.pass, .pass, .pass])
        do {
            let action = machine.read(.head(Self.head("/fast", method: .HEAD)))
            #expect(Self.describe(action) == "none")
        }
    }
}
