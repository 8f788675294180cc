import GatewayPolicy
import Testing

@testable import GatewayProxy
@testable import GatewayRuntime

@Suite("Canonical request targets")
struct CanonicalTargetTests {
    @Test(
        arguments: [
            ("/contacts/abc", "/contacts/abc", nil),
            ("/contacts/abc/", "/contacts/abc/", nil),
            ("/contacts/%41b%7e", "/contacts/Ab~", nil),
            ("/contacts/a%3ab", "/contacts/a%3Ab", nil),
            ("/contacts/%C3%A9", "/contacts/%C3%A9", nil),
            ("/contacts/abc?locationId=x&y=%2F..", "/contacts/abc", "locationId=x&y=%2F.."),
            ("/contacts/abc?", "/contacts/abc", ""),
            ("/", "/", nil),
        ] as [(String, String, String?)])
    func acceptedTargets(target: String, path: String, query: String?) throws {
        let canonical = try CanonicalTarget(target, maxLength: 8192)
        #expect(canonical.path == path)
        #expect(canonical.query == query)
    }

    @Test(arguments: [
        "/contacts/../x", "/contacts/./x", "/contacts/%2e%2e/x", "/contacts/%2E/x", "/contacts/.%2e/x", "/..",
        "/contacts/a%2fb", "/contacts/a%5cb", "/contacts/a\\b", "//contacts", "/contacts//x", "/contacts/x//",
        "/contacts/x%00", "/contacts/x%1f", "/contacts/x%7F", "/contacts/x%", "/contacts/x%g1", "/contacts/%252e%252e",
        "/contacts/x;jsessionid=1", "/contacts/%C0%AE", "/contacts/%FF", "http://evil/contacts", "contacts/x", "*",
        "/contacts/x#frag", "/contacts/x\u{7F}", "/contacts/é", "/contacts/x?a=\u{01}",
    ])
    func refusedTargets(target: String) {
        #expect(throws: GatewayError.self) { try CanonicalTarget(target, maxLength: 8192) }
    }

    @Test func longURLsAreRefused() {
        #expect(throws: GatewayError.self) { try CanonicalTarget("/contacts/" + String(repeating: "a", count: 100), maxLength: 50) }
    }
}

@Suite("JSON target scanner")
struct JSONTargetScannerTests {
    private func scan(_ text: String) throws(JSONTargetScanner.Failure) -> JSONTargetScanner.Fields {
        try JSONTargetScanner.scan(Array(text.utf8), fields: ["locationId", "companyId"])
    }

    @Test func topLevelFieldsOnly() throws {
        #expect(try scan(#"{"locationId":"a","nested":{"locationId":"b"},"list":[{"companyId":"c"}]}"#) == ["locationId": ["a"]])
        #expect(try scan(#" { "companyId" : "c\u0031" , "x" : [1, -2.5e3, true, null, "s"] } "#) == ["companyId": ["c1"]])
        #expect(try scan(#"{"locationId":"a","locationId":"b"}"#) == ["locationId": ["a", "b"]])
        #expect(try scan("[1,2,3]").isEmpty)
        #expect(try scan("{}").isEmpty)
        #expect(try scan(#"{"a":-0.5e+10,"b":0,"c":1E3,"d":-12.25}"#).isEmpty)
        #expect(try scan(#""just a string""#).isEmpty)
    }

    @Test func malformedOrHostileBodiesAreRefused() {
        // Numbers as RFC 8259 writes them, not as Double(_:) reads them (found by fuzzing: `2.`).
        let numbers = ["2.", "+1", ".5", "01", "1e", "1e+", "-", "--1", "0x10", #"{"a":1.}"#]
        for bad in [#"{"locationId":"a""#, #"{"x":}"#, "{,}", #"{"a":1}x"#, "", #"{"a":tru}"#, "{'a':1}"] + numbers {
            #expect(throws: JSONTargetScanner.Failure.malformed, "\(bad)") { try scan(bad) }
        }
        #expect(throws: JSONTargetScanner.Failure.notAString("locationId")) { try scan(#"{"locationId":5}"#) }
        #expect(throws: JSONTargetScanner.Failure.notAString("companyId")) { try scan(#"{"companyId":{"id":"x"}}"#) }
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(throws: JSONTargetScanner.Failure.tooDeep) { try scan(deep) }
    }
}

@Suite("Client rate limiter")
struct ClientRateLimiterTests {
    @Test func bucketsRefillAtTheirRate() {
        let limiter = ClientRateLimiter()
        let limit = RateLimit(requests: 2, periodSeconds: 10)
        #expect(limiter.acquire(client: "a", limit: limit, now: 0) == nil)
        #expect(limiter.acquire(client: "a", limit: limit, now: 0) == nil)
        #expect(limiter.acquire(client: "a", limit: limit, now: 0) == 5)
        #expect(limiter.acquire(client: "b", limit: limit, now: 0) == nil)
        #expect(limiter.acquire(client: "a", limit: limit, now: 5) == nil)
        #expect(limiter.acquire(client: "a", limit: limit, now: 5) != nil)
        #expect(limiter.acquire(client: "a", limit: RateLimit(requests: 100, periodSeconds: 1), now: 5.5) == nil)
    }
}
