import Testing

@testable import GatewayRuntime

@Suite("W3C traceparent")
struct TraceParentTests {
    static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aValidValueIsReadByItsParts() throws {
        let trace = try #require(TraceParent(Self.valid))
        #expect(trace.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentId == "00f067aa0ba902b7")
        #expect(trace.flags == "01")
        #expect(trace.description == Self.valid)
    }

    @Test func aLaterVersionIsReadByItsFirstFourFields() throws {
        let trace = try #require(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"))
        #expect(trace.description == Self.valid)
        #expect(TraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x") == nil)
    }

    @Test(arguments: [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-" + String(repeating: "a", count: 600),
    ])
    func anInvalidValueIsRefused(_ value: String) {
        #expect(TraceParent(value) == nil)
    }

    @Test func aChildKeepsTheTraceAndTakesANewSpan() throws {
        let parent = try #require(TraceParent(Self.valid))
        let child = parent.child()
        #expect(child.traceId == parent.traceId && child.flags == parent.flags)
        #expect(child.parentId != parent.parentId)
        #expect(TraceParent(child.description) == child)
    }

    @Test func aStartedTraceIsValidAndNew() throws {
        let first = TraceParent.start()
        let second = TraceParent.start()
        #expect(TraceParent(first.description) == first)
        #expect(first.traceId != second.traceId)
        #expect(first.flags == "01")
    }
}
