import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatewayRuntime

/// The guard in an `EmbeddedChannel` behind NIO's real HTTP/1 parser and encoder, with the
/// `ConnectionGuard` it asks whether an answer is under way, as a listener has them.
@Suite("Request target guard")
struct RequestTargetGuardTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(HTTPResponseEncoder())
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
        let connectionGuard = ConnectionGuard(
            connections: ListenerConnections(listener: "proxy", limits: ConnectionLimits(), metrics: GatewayMetrics()))
        try pipeline.addHandler(RequestTargetGuard(asking: connectionGuard))
        try pipeline.addHandler(connectionGuard)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    private func send(_ channel: EmbeddedChannel, _ text: String) throws {
        do {
            try channel.writeInbound(ByteBuffer(string: text))
        } catch {
            // The parser's own error is caught by the guard; the embedded channel rethrows it here.
        }
    }

    private func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test func anOriginFormRequestPassesThroughUntouched() throws {
        let channel = try channel()
        try send(channel, "GET /contacts/a?x=1 HTTP/1.1\r\nHost: gateway\r\n\r\n")
        guard case .head(let head) = try #require(try channel.readInbound(as: HTTPServerRequestPart.self)) else {
            Issue.record("no head passed on")
            return
        }
        #expect(head.uri == "/contacts/a?x=1")
        #expect(try written(channel).isEmpty)
        #expect(channel.isActive)
    }

    @Test(arguments: ["GET http://evil.example/contacts/a HTTP/1.1", "CONNECT evil.example:443 HTTP/1.1", "GET * HTTP/1.1"])
    func aTargetThatIsNotAPathIsRefusedAndTheConnectionClosed(_ requestLine: String) throws {
        let channel = try channel()
        try send(channel, "\(requestLine)\r\nHost: gateway\r\n\r\n")
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
        let answer = try written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(answer.contains(#"{"error":{"code":"bad_request","message":"the request target must be a path starting with '/'"#))
        #expect(answer.lowercased().contains("x-request-id: "))
        #expect(answer.lowercased().contains("connection: close"))
        #expect(!channel.isActive)
    }

    @Test func whatTheParserRefusesIsAnsweredAsJSON() throws {
        let channel = try channel()
        try send(channel, "POST /contacts/ HTTP/1.1\r\nHost: gateway\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
        let answer = try written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(answer.contains("the request is malformed HTTP (conflicting or duplicate Content-Length)"))
        #expect(!channel.isActive)
    }

    @Test func whatTheParserRefusesWhileAnAnswerIsOwedClosesWithoutAnotherAnswer() throws {
        let channel = try channel()
        try send(channel, "GET /contacts/a HTTP/1.1\r\nHost: gateway\r\n\r\n")
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) != nil)
        try send(channel, "POST /contacts/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
        #expect(try written(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test func whatTheParserRefusesAfterAnAnswerEndedIsAnsweredAsJSON() throws {
        let channel = try channel()
        try send(channel, "GET /contacts/a HTTP/1.1\r\nHost: gateway\r\n\r\n")
        while try channel.readInbound(as: HTTPServerRequestPart.self) != nil {}
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .noContent)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(try written(channel).hasPrefix("HTTP/1.1 204 No Content\r\n"))
        try send(channel, "POST /contacts/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")
        #expect(try written(channel).contains("the request is malformed HTTP (conflicting or duplicate Content-Length)"))
        #expect(!channel.isActive)
    }
}
