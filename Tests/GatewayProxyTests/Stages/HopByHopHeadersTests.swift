import GatewayPolicy
import HTTPTypes
import NIOCore
import NIOHTTP1
import Testing

@testable import GatewayRuntime

@Suite("Stage: hop-by-hop headers")
struct HopByHopHeadersTests {
    @Test func theCallersCredentialsTargetsAndHopHeadersNeverGoUpstream() {
        let fields: HTTPFields = [
            .authorization: "Bearer ghlgw_key", .cookie: "session=1", .init("X-Location-Id")!: "locA",
            .init("X-Company-Id")!: "cmpA", .init("Host")!: "gateway", .contentLength: "5", .connection: "keep-alive, X-Trace",
            .init("X-Trace")!: "hop", .init("Keep-Alive")!: "timeout=5", .te: "trailers", .transferEncoding: "chunked",
            .init("Proxy-Authorization")!: "Basic x", .init("X-Request-Id")!: "mine", .expect: "100-continue",
            .accept: "application/json", .init("Version")!: "2021-07-28", .init("X-Custom")!: "one",
        ]
        #expect(Self.written(fields) == ["Accept: application/json", "Version: 2021-07-28", "X-Custom: one"])
    }

    @Test func headersThatChangeWhatHighLevelRunsNeverGoUpstream() {
        let names = [
            "X-HTTP-Method-Override", "X-HTTP-Method", "x-method-override", "X-Original-URL", "X-Rewrite-URL", "X-Forwarded-Host",
            "Forwarded", "X_Location_Id", "x_company_id", "Authorization_", "X-Custom",
        ]
        var fields = HTTPFields()
        var wire = HTTPHeaders()
        for name in names {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: "DELETE"))
            wire.add(name: name, value: "DELETE")
        }
        #expect(Self.written(fields) == ["X-Custom: DELETE"])
        #expect(Self.written(wire) == ["X-Custom: DELETE"])
    }

    @Test func hopHeadersAndThoseConnectionNamesStayOnTheirSideGoingBack() {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Connection", value: "close, X-Upstream-Hop")
        headers.add(name: "X-Upstream-Hop", value: "1")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        headers.add(name: "Keep-Alive", value: "timeout=5")
        headers.add(name: "Set-Cookie", value: "a=1")
        headers.add(name: "Set-Cookie", value: "b=2")
        headers.add(name: "X-RateLimit-Remaining", value: "99")
        headers.add(name: "X-Request-Id", value: "highlevels-own")
        var kept: [String] = []
        HopByHopHeaders.downstreamResponse(headers) { name, _ in kept.append(name) }
        #expect(kept == ["Content-Type", "Set-Cookie", "Set-Cookie", "X-RateLimit-Remaining"])
        let fields = HopByHopHeaders.downstreamResponse(headers)
        #expect(fields.map(\.name.rawName) == kept)
        #expect(fields[values: .setCookie] == ["a=1", "b=2"])
    }

    /// The header lines the caller's headers become in the head HighLevel gets.
    static func written(_ fields: HTTPFields) -> [Substring] {
        var head = UpstreamRequestHead.Writer(method: .GET, path: "/")
        HopByHopHeaders.upstreamRequest(fields, into: &head)
        return lines(head.finish(framing: .none))
    }

    static func written(_ wire: HTTPHeaders) -> [Substring] {
        var head = UpstreamRequestHead.Writer(method: .GET, path: "/")
        HopByHopHeaders.upstreamRequest(wire, into: &head)
        return lines(head.finish(framing: .none))
    }

    private static func lines(_ head: UpstreamRequestHead) -> [Substring] {
        String(buffer: head.bytes).split(separator: "\r\n").dropFirst().map { $0 }
    }

    @Test func connectionTokensAreTrimmedAndCaseFolded() {
        #expect(HopByHopHeaders.named(inConnection: [" Keep-Alive ,X-A", "\tx-b\t"]) == ["keep-alive", "x-a", "x-b"])
    }
}
