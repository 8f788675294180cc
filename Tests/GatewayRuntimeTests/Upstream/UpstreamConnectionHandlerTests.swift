import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import GatewayRuntime

/// The handler in an `EmbeddedChannel` behind the connection's real codec (`UpstreamResponseDecoder`,
/// `UpstreamRequestEncoder`): HighLevel's bytes in, the request's bytes and the exchange's outcome out.
@Suite("Upstream connection handler")
struct UpstreamConnectionHandlerTests {
    private func connection() throws -> (EmbeddedChannel, UpstreamConnectionHandler) {
        let channel = EmbeddedChannel()
        let handler = UpstreamConnectionHandler(channel: channel)
        try UpstreamResponseDecoder.add(to: channel.pipeline.syncOperations)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        return (channel, handler)
    }

    private func begin(_ channel: EmbeddedChannel, _ handler: UpstreamConnectionHandler) -> EventLoopFuture<UpstreamResponse> {
        let (answer, exchange) = start(channel, handler, Self.head(.GET, "/contacts/a", .none))
        handler.write(.end(nil), exchange: exchange, promise: nil)
        handler.flush()
        return answer
    }

    /// Begins an exchange and writes its head (the client's decoder pairs each answer with a request).
    private func start(
        _ channel: EmbeddedChannel, _ handler: UpstreamConnectionHandler, _ head: UpstreamRequestHead
    ) -> (EventLoopFuture<UpstreamResponse>, Int) {
        let promise = channel.eventLoop.makePromise(of: UpstreamResponse.self)
        let exchange = handler.begin({ promise.completeWith($0) }, headTimeout: .seconds(30)) ?? 0
        handler.write(.head(head), exchange: exchange, promise: nil)
        handler.flush()
        return (promise.futureResult, exchange)
    }

    private static func head(_ method: HTTPMethod, _ uri: String, _ framing: BodyFraming) -> UpstreamRequestHead {
        UpstreamRequestHead.Writer(method: method, path: uri).finish(framing: framing)
    }

    /// Every byte written to HighLevel so far, as text.
    private func sent(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
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

    @Test func theHeadLeavesAsWrittenAndAChunkedBodyInChunks() throws {
        let (channel, handler) = try connection()
        let head = Self.head(.POST, "/contacts/", .chunked)
        let (answer, exchange) = start(channel, handler, head)
        #expect(try sent(channel) == String(buffer: head.bytes))
        for part in ["hello", "", "a longer chunk of sixteen+"] {
            handler.write(.body(ByteBuffer(string: part)), exchange: exchange, promise: nil)
        }
        handler.write(.end(nil), exchange: exchange, promise: nil)
        handler.flush()
        // The empty part sends nothing: a chunk of size 0 would end the body there.
        #expect(try sent(channel) == "5\r\nhello\r\n1a\r\na longer chunk of sixteen+\r\n0\r\n\r\n")
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
        #expect(try answer.wait().head.status == .created)
    }

    @Test func theAnswerToAHeadRequestHasNoBodyWhateverItsLengthSays() throws {
        let (channel, handler) = try connection()
        var reused = 0
        handler.onReusable = { _ in reused += 1 }
        let (answer, exchange) = start(channel, handler, Self.head(.HEAD, "/contacts/a", .none))
        handler.write(.end(nil), exchange: exchange, promise: nil)
        // The parser knows the method: these are the whole answer, and the next one follows.
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"))
        let response = try answer.wait()
        guard case .buffered(let body) = response.body else {
            Issue.record("an empty answer was streamed")
            return
        }
        #expect(body?.readableBytes ?? 0 == 0)
        #expect(reused == 1)
        let next = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        guard case .buffered(let second) = try next.wait().body else {
            Issue.record("a short answer was streamed")
            return
        }
        #expect(second.map { String(buffer: $0) } == "ok")
    }

    @Test func anAnswerToNoRequestClosesTheConnection() throws {
        let (channel, handler) = try servedOnce()
        var reused = 0
        handler.onReusable = { _ in reused += 1 }
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        #expect(!channel.isActive)
        #expect(reused == 0)
    }

    @Test func aConnectionDroppedBeforeTheHeadFailsTheExchange() throws {
        let (channel, handler) = try connection()
        let answer = begin(channel, handler)
        try channel.close().wait()
        #expect(throws: UpstreamFailure.closedBeforeHead(reused: false, requestWritten: true)) { try answer.wait() }
    }

    @Test func aLongAnswerBecomesAStream() async throws {
        let (channel, handler) = try connection()
        let answer = begin(channel, handler)
        let size = UpstreamConnectionHandler.bufferLimit + 10
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n"))
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        let response = try await answer.get()
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

    @Test func anEarlyAnswerIsDeliveredAndTheRestOfTheBodyNeverWritten() throws {
        let (channel, handler) = try connection()
        var reused = 0
        handler.onReusable = { _ in reused += 1 }
        let head = Self.head(.PUT, "/contacts/a", .length(20_000))
        let (answer, exchange) = start(channel, handler, head)
        handler.write(.body(ByteBuffer(repeating: UInt8(ascii: "a"), count: 200)), exchange: exchange, promise: nil)
        handler.flush()
        #expect(try sent(channel).hasPrefix("PUT /contacts/a HTTP/1.1"))
        // HighLevel refuses before reading the body, keeping the connection open as Node does.
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"))
        #expect(try answer.wait().head.status == .payloadTooLarge)
        #expect(reused == 0)
        #expect(!channel.isActive)
        let late = channel.eventLoop.makePromise(of: Void.self)
        handler.write(.body(ByteBuffer(string: "DELETE /contacts/SMUGGLED HTTP/1.1\r\n\r\n")), exchange: exchange, promise: late)
        #expect(throws: UpstreamFailure.outOfStep) { try late.futureResult.wait() }
        #expect(try sent(channel).isEmpty)
    }

    @Test func nothingButAnExchangeReachesTheConnection() throws {
        let (channel, handler) = try connection()
        let outside = channel.writeAndFlush(UpstreamRequestPart.head(Self.head(.DELETE, "/x", .none)))
        #expect(throws: UpstreamFailure.outOfStep) { try outside.wait() }
        #expect(try sent(channel).isEmpty)
        #expect(channel.isActive, "a refused write does not end the connection")
        let answer = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(try answer.wait().head.status == .noContent)
    }

    @Test func anAbandonedRequestFailsTheExchangeAndCloses() throws {
        let (channel, handler) = try connection()
        var reused = 0
        handler.onReusable = { _ in reused += 1 }
        let head = Self.head(.POST, "/contacts/", .chunked)
        let (answer, exchange) = start(channel, handler, head)
        handler.abandon(exchange: exchange)
        #expect(throws: UpstreamFailure.requestAbandoned) { try answer.wait() }
        #expect(!channel.isActive)
        #expect(reused == 0)
    }

    @Test func anAnswerThatClosesIsNotReused() throws {
        let (channel, handler) = try connection()
        var reused = 0
        handler.onReusable = { _ in reused += 1 }
        let answer = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"))
        #expect(try answer.wait().head.status == .ok)
        #expect(reused == 0)
        #expect(!channel.isActive)
    }

    @Test func interimAnswersAreSkipped() throws {
        let (channel, handler) = try connection()
        let answer = begin(channel, handler)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"))
        #expect(try answer.wait().head.status == .created)
        #expect(channel.isActive)
    }
}
