import GatewayTestSupport
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import TokenVault

@testable import GatewayRuntime

/// The forwarder and its pool against real upstreams on 127.0.0.1: what HighLevel parses is
/// exactly what was authorized, whatever the two halves of an exchange do.
@Suite("Upstream forwarder")
struct UpstreamForwarderTests {
    /// Every request here goes out on this loop, so all of them share its pool.
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    /// Timeouts are not what these tests are about (see `UpstreamConnectionPoolTests.pool`).
    static func forwarder(port: Int) throws -> UpstreamForwarder {
        let settings = UpstreamConnectionPool.Settings(
            endpoint: try #require(UpstreamEndpoint(baseURL: "http://127.0.0.1:\(port)")), connectTimeout: .seconds(60),
            headTimeout: .seconds(60), readTimeout: .seconds(60))
        return UpstreamForwarder(pool: try UpstreamConnectionPool(settings: settings), apiVersion: "2021-07-28", maxBodyBytes: 1 << 20)
    }

    static func send(
        _ forwarder: UpstreamForwarder, _ method: HTTPRequest.Method, _ path: String, token: String, body: UpstreamForwarder.Payload = .empty
    ) async throws -> UpstreamResponse {
        try await forwarder.send(
            method: method, target: try CanonicalTarget(path, maxLength: 4096), headers: [:], body: body, token: Secret(token),
            requestId: "req", on: loop)
    }

    /// The first client's body: 200 bytes now, the rest (which would read as a request of its own
    /// to a server that lost the framing) when the test says.
    static let smuggled = "DELETE /contacts/SMUGGLED HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"

    @Test(.timeLimit(.minutes(1)))
    func anEarlyAnswerNeverLetsAnotherRequestIntoTheUnsentBody() async throws {
        let upstream = try await EarlyAnsweringUpstream.start(earlyAnswerOver: 1024)
        let forwarder = try Self.forwarder(port: upstream.port)
        let length = 20_000
        let (body, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        feed.yield(ByteBuffer(repeating: UInt8(ascii: "a"), count: 200))

        // Client A (location A's token) streams a PUT; HighLevel answers 413 at its head.
        let first = try await Self.send(
            forwarder, .put, "/contacts/A", token: "token-location-A", body: .streamed(body, length: length))
        #expect(first.head.status == .payloadTooLarge)

        // Client B (location B's token), on the same loop's pool, while A is still sending.
        let second = try await Self.send(forwarder, .get, "/contacts/B", token: "token-location-B")
        #expect(second.head.status == .ok)

        // A sends the rest of its body; none of it may reach HighLevel.
        var rest = ByteBuffer(string: Self.smuggled)
        rest.writeRepeatingByte(UInt8(ascii: "b"), count: length - 200 - rest.readableBytes)
        feed.yield(rest)
        feed.finish()
        // One more request on the pool: it would be parsed after anything left over.
        let third = try await Self.send(forwarder, .get, "/contacts/C", token: "token-location-B")
        #expect(third.head.status == .ok)

        let parsed = upstream.parsed.map { "\($0.method) \($0.uri) \($0.authorization ?? "-")" }
        #expect(
            parsed == [
                "PUT /contacts/A Bearer token-location-A",
                "GET /contacts/B Bearer token-location-B",
                "GET /contacts/C Bearer token-location-B",
            ])
        #expect(upstream.parsed[1].connection != upstream.parsed[0].connection, "the early-answered connection is never reused")
        await forwarder.pool.close()
        try await upstream.stop()
    }

    @Test(.timeLimit(.minutes(1)))
    func aCallerThatAbortsMidBodyClosesItsConnection() async throws {
        let upstream = try await EarlyAnsweringUpstream.start(earlyAnswerOver: 1 << 20)
        let forwarder = try Self.forwarder(port: upstream.port)
        struct CallerWentAway: Error {}
        let (body, feed) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        feed.yield(ByteBuffer(repeating: UInt8(ascii: "a"), count: 200))
        feed.finish(throwing: CallerWentAway())
        await #expect(throws: GatewayError.self) {
            _ = try await Self.send(forwarder, .put, "/contacts/A", token: "token-location-A", body: .streamed(body, length: 20_000))
        }
        // What reached HighLevel of A is parsed once its connection is closed; B comes after.
        await upstream.waitForClosedConnections(1)
        let next = try await Self.send(forwarder, .get, "/contacts/B", token: "token-location-B")
        #expect(next.head.status == .ok)
        let parsed = upstream.parsed
        #expect(parsed.map(\.uri) == ["/contacts/A", "/contacts/B"])
        #expect(parsed[1].connection != parsed[0].connection, "a connection whose request broke off is never reused")
        await forwarder.pool.close()
        try await upstream.stop()
    }
}
