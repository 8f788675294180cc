import NIOCore
import Testing

@testable import GatewayRuntime

@Suite("Upstream request head")
struct UpstreamRequestHeadTests {
    @Test func theHeadIsTheRequestLineTheHeadersAndTheFraming() {
        var writer = UpstreamRequestHead.Writer(method: .POST, prefix: "/v2", path: "/contacts/", query: "locationId=a&x=%20")
        writer.add(name: "Host", value: "services.leadconnectorhq.com")
        writer.addAuthorization(bearer: "token-1")
        let head = writer.finish(framing: .length(2))
        #expect(head.method == .POST)
        #expect(head.framing == .length(2))
        #expect(
            String(buffer: head.bytes)
                == "POST /v2/contacts/?locationId=a&x=%20 HTTP/1.1\r\nHost: services.leadconnectorhq.com\r\n"
                + "Authorization: Bearer token-1\r\nContent-Length: 2\r\n\r\n")
    }

    @Test func eachFramingSaysSoOnce() {
        func text(_ framing: BodyFraming) -> String {
            String(buffer: UpstreamRequestHead.Writer(method: .GET, path: "/a").finish(framing: framing).bytes)
        }
        #expect(text(.none) == "GET /a HTTP/1.1\r\n\r\n")
        #expect(text(.length(0)) == "GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        #expect(text(.chunked) == "GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    }
}
