import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import GatewayRuntime

/// The listener's response encoder in an `EmbeddedChannel`: heads written as bytes leave as they
/// are, typed heads through NIO's encoder, one after the other on a kept connection.
@Suite("Downstream response encoder")
struct DownstreamResponseEncoderTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(DownstreamResponseEncoder())
        return channel
    }

    private func sent(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            text += String(buffer: buffer)
        }
        return text
    }

    private func written(_ status: HTTPResponseStatus, _ headers: [(String, String)], _ framing: BodyFraming) -> WrittenResponseHead {
        var writer = WrittenResponseHead.Writer(status: status)
        for (name, value) in headers { writer.add(name: name, value: value) }
        return writer.finish(framing: framing)
    }

    private func answer(_ channel: EmbeddedChannel, _ head: DownstreamResponseHead, _ parts: [String]) throws {
        try channel.writeOutbound(DownstreamResponsePart.head(head))
        for part in parts { try channel.writeOutbound(DownstreamResponsePart.body(.byteBuffer(ByteBuffer(string: part)))) }
        try channel.writeOutbound(DownstreamResponsePart.end(nil))
    }

    @Test func aWrittenHeadLeavesAsItsBytesAndItsBodyAsItIs() throws {
        let channel = try channel()
        try answer(channel, .written(written(.created, [("Content-Type", "application/json")], .length(2))), ["{}"])
        #expect(try sent(channel) == "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func aChunkedWrittenHeadHasItsBodyInChunksAndNoEmptyChunkBeforeTheEnd() throws {
        let channel = try channel()
        try answer(channel, .written(written(.ok, [], .chunked)), ["hello", "", "0123456789abcdefg"])
        #expect(try sent(channel) == "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n11\r\n0123456789abcdefg\r\n0\r\n\r\n")
    }

    @Test func aClosingHeadSaysSoBeforeItsBlankLine() throws {
        let channel = try channel()
        var head = written(.ok, [("X-Request-Id", "r1")], .length(0))
        head.closesConnection = true
        try answer(channel, .written(head), [])
        #expect(try sent(channel) == "HTTP/1.1 200 OK\r\nX-Request-Id: r1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test func typedAndWrittenAnswersFollowEachOtherEachFramedByItsOwnHead() throws {
        let channel = try channel()
        // Typed without a length: NIO's encoder chunks it.
        try answer(channel, .typed(HTTPResponseHead(version: .http1_1, status: .ok)), ["abc"])
        #expect(try sent(channel) == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        try answer(channel, .written(written(.ok, [("Content-Length", "3")], .none)), ["abc"])
        #expect(try sent(channel) == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
        try answer(channel, .typed(HTTPResponseHead(version: .http1_1, status: .accepted, headers: ["Content-Length": "2"])), ["ok"])
        #expect(try sent(channel) == "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok")
    }

    @Test func itTakesThePlaceOfNIOsEncoder() throws {
        let channel = EmbeddedChannel()
        let pipeline = channel.pipeline.syncOperations
        // As Hummingbird's HTTP1Channel sets it up.
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false, withEncoderConfiguration: .init())
        try DownstreamResponseEncoder.replaceNIOEncoder(in: pipeline)
        #expect(throws: ChannelPipelineError.notFound) { try pipeline.handler(type: HTTPResponseEncoder.self) }
        _ = try pipeline.handler(type: DownstreamResponseEncoder.self)
        try answer(channel, .written(written(.noContent, [], .none)), [])
        #expect(try sent(channel) == "HTTP/1.1 204 No Content\r\n\r\n")
    }
}
