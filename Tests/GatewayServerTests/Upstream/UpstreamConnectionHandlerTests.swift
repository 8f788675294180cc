import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import GatewayServer

/// The handler in an `EmbeddedChannel` behind NIO's real HTTP/1 client codec: HighLevel's bytes in,
/// the exchange's outcome out.
@Suite("Upstream connection handler")
struct UpstreamConnectionHandlerTests {
    private func connection() throws -> (EmbeddedChannel, UpstreamConnectionHandler) {
        let channel = EmbeddedChannel()
        let handler = UpstreamConnectionHandler(channel: channel)
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        return (channel, handler)
    }

    private func begin(_ channel: EmbeddedChannel, _ handler: UpstreamConnectionHandler) -> EventLoopFuture<UpstreamResponse> {
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        handler.begin(promise, headTimeout: .seconds(30))
        // The request goes out first: the client's decoder pairs each answer with a request.
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/contacts/a")), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        return promise.futureResult
    }

    @Test func aShortAnswerIsWholeAndTheConnectionGoesBackToItsPool() throws {
        let (channel, handler) = try connection()
        var reused = 0
        handler.onReusable = { _ in reused += 1 }
        let answer = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-RateLimit-Remaining: 9\r\n\r\nok"))
        let response = try answer.wait()
        #expect(response.head.status == .ok)
        #expect(response.head.headers["x-ratelimit-remaining"] == ["9"])
        guard case .buffered(let body) = response.body else {
            Issue.record("a short body was streamed")
            return
        }
        #expect(body.map { String(buffer: $0) } == "ok")
        #expect(reused == 1)
        // The second exchange on the same connection.
        let second = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(try second.wait().head.status == .noContent)
        #expect(handler.isReused)
    }

    @Test func aConnectionDroppedBeforeTheHeadFailsTheExchange() throws {
        let (channel, handler) = try connection()
        let answer = begin(channel, handler)
        try channel.close().wait()
        #expect(throws: UpstreamFailure.closedBeforeHead(reused: false)) { try answer.wait() }
    }

    @Test func aLongAnswerBecomesAStream() async throws {
        let (channel, handler) = try connection()
        let answer = begin(channel, handler)
        let size = UpstreamConnectionHandler.bufferLimit + 10
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n"))
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        let response = try answer.wait()
        guard case .streamed(let stream) = response.body else {
            Issue.record("a long body was buffered")
            return
        }
        var received = 0
        for try await chunk in stream { received += chunk.readableBytes }
        #expect(received == size)
    }

    /// A connection that has served one exchange (answered 204) and is back between exchanges.
    private func servedOnce() throws -> (EmbeddedChannel, UpstreamConnectionHandler) {
        let (channel, handler) = try connection()
        let first = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(try first.wait().head.status == .noContent)
        return (channel, handler)
    }

    @Test func theHeadTimerCoversEachExchangeOnAKeptConnection() throws {
        let (channel, handler) = try servedOnce()
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        // Due 30 s from now; the timer armed for the first exchange fires 10 s from now.
        let second = begin(channel, handler)
        let failed = Mutex(false)
        second.whenFailure { _ in failed.withLock { $0 = true } }
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(!failed.withLock { $0 })
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(throws: UpstreamFailure.timedOut) { try second.wait() }
    }

    @Test func anAnsweredExchangeLeavesNoTimerToFire() throws {
        let (channel, handler) = try servedOnce()
        channel.embeddedEventLoop.advanceTime(by: .seconds(31))
        #expect(channel.isActive)
        let second = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(try second.wait().head.status == .ok)
    }
}
