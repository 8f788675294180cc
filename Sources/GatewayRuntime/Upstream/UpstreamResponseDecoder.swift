import NIOCore
import NIOHTTP1

/// NIO's HTTP/1 response parser, told each request's method by `UpstreamRequestEncoder` as the
/// head leaves (an answer to `HEAD` has no body, whatever its `Content-Length` says).
/// NIO's own response decoder reads the method from the typed request heads written past it;
/// the gateway writes its heads as bytes, so this one does not watch what is written.
struct UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    private let parser = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop)

    /// The connection's codec: this parser, and the encoder that announces each request to it.
    static func add(to pipeline: ChannelPipeline.SynchronousOperations) throws {
        let decoder = UpstreamResponseDecoder()
        try pipeline.addHandler(UpstreamRequestEncoder(announcingTo: decoder))
        try pipeline.addHandler(ByteToMessageHandler(decoder))
    }

    func expect(_ method: HTTPMethod) {
        parser.write(data: .head(HTTPRequestHead(version: .http1_1, method: method, uri: "")))
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try parser.decode(context: context, buffer: &buffer)
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try parser.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }

    mutating func decoderAdded(context: ChannelHandlerContext) {
        parser.decoderAdded(context: context)
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) {
        parser.decoderRemoved(context: context)
    }
}
