import Foundation
import GatewayTestSupport
import Testing

/// Requests no well-behaved client sends, straight onto the proxy's socket: each gets the gateway's
/// JSON error, and nothing reaches HighLevel.
@Suite("Malformed HTTP on the proxy listener")
struct MalformedHTTPTests {
    static let client = TestClient("svc")
    static let clients = ["svc": client.policy(allow: ["contacts.readonly", "contacts.write"])]

    @Test(arguments: [
        ("absolute form", "GET http://evil.example/contacts/x HTTP/1.1\r\nHost: evil.example\r\n"),
        ("authority form", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n"),
        ("TE and CL", "POST /contacts/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n"),
        ("two lengths", "POST /contacts/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n"),
        ("CR in a value", "GET /contacts/x HTTP/1.1\r\nHost: x\r\nX-Evil: a\rInjected: b\r\n"),
        ("LF in a value", "GET /contacts/x HTTP/1.1\r\nHost: x\r\nX-Evil: a\nInjected: b\r\n"),
        ("huge header block", "GET /contacts/x HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 90_000))\r\n"),
        ("space in target", "GET /contacts/a b HTTP/1.1\r\nHost: x\r\n"),
    ])
    func refusedWithJSONAndNeverForwarded(name: String, head: String) async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let answer = await RawHTTP.exchange(
                port: harness.proxyPort, head + "Authorization: Bearer \(Self.client.key)\r\nConnection: close\r\n\r\nhello")
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(name): \(answer.prefix(120))")
            // NIO's encoder sends no body after a response to CONNECT; every other refusal carries the JSON error.
            if !head.hasPrefix("CONNECT") {
                #expect(answer.contains("\"code\":\"bad_request\""), "\(name): \(answer.prefix(300))")
            }
            #expect(await harness.simulator.state.calls.isEmpty, "\(name) was forwarded")
        }
    }
}
