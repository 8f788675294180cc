import HTTPTypes
import Testing

@testable import GatewayRuntime

@Suite("Request ids")
struct RequestIdTests {
    @Test func aPlainCallerIdIsKeptAnythingElseGetsAFreshUniqueOne() {
        let name = HTTPField.Name("X-Request-Id")!
        #expect(RequestID.of([name: "req-123_a.b"]) == "req-123_a.b")
        var seen: Set<String> = []
        for bad in ["", "with space", "ünïcode", String(repeating: "a", count: 129), "semi;colon"] {
            let fresh = RequestID.of([name: bad])
            #expect(fresh.utf8.count == 24 && fresh.allSatisfy(\.isHexDigit), "\(fresh)")
            seen.insert(fresh)
        }
        for _ in 0..<1_000 { seen.insert(RequestID.of([:])) }
        #expect(seen.count == 1_005)
    }
}
