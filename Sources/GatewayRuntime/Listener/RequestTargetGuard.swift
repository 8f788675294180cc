import NIOCore
import NIOHTTP1

/// Guards the proxy listener at the HTTP/1 parser, before Hummingbird sees a request:
/// - refuses a target that is not origin-form (`/path`): Hummingbird turns `GET http://host/path`
///   into `/path`, which would hide an absolute-form or authority-form target from the pipeline;
/// - answers what the parser refuses (a `Transfer-Encoding` with a `Content-Length`, two lengths,
///   CR or LF inside a header value, an oversized header block) with the gateway's JSON 400
///   instead of a bare one.
/// Either way the connection is closed after the answer.
///
/// It handles reads only: whether an answer is under way, it asks `ConnectionGuard`, which sees
/// every answer part anyway. Each handler an answer passes costs it a cast and a call per part.
package final class RequestTargetGuard: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = HTTPServerRequestPart
    package typealias InboundOut = HTTPServerRequestPart
    package typealias OutboundOut = HTTPServerResponsePart

    private let connectionGuard: ConnectionGuard
    private var refusing = false

    package init(asking connectionGuard: ConnectionGuard) {
        self.connectionGuard = connectionGuard
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refusing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head) where head.uri.first != "/":
            refuse(context, version: head.version, "the request target must be a path starting with '/' (absolute or authority form refused)")
        case .head, .body, .end:
            context.fireChannelRead(data)
        }
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is ByteToMessageDecoderError else {
            context.fireErrorCaught(error)
            return
        }
        // Mid-response there is no clean way to answer: just close.
        guard !refusing, !connectionGuard.answering else {
            context.close(promise: nil)
            return
        }
        refuse(context, version: .http1_1, "the request is malformed HTTP (\(Self.describe(error)))")
    }

    private func refuse(_ context: ChannelHandlerContext, version: HTTPVersion, _ message: String) {
        refusing = true
        var answer = GatewayError(.badRequest, message).channelAnswer(requestId: RequestID.make(), version: version)
        answer.head.headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(answer.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case HTTPParserError.headerOverflow: "header block too large"
        case HTTPParserError.unexpectedContentLength: "conflicting or duplicate Content-Length"
        case HTTPParserError.invalidHeaderToken, HTTPParserError.lfExpected:
            "invalid character in a header"
        case let parser as HTTPParserError: "\(parser)"
        default: "unparseable"
        }
    }
}
