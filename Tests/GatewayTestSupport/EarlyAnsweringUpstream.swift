import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// HighLevel as Node serves it, on `127.0.0.1`: a request whose `Content-Length` is over
/// `earlyAnswerOver` is answered 413 as soon as its head arrives, and its body is then read to the
/// end on the same keep-alive connection (as Node drains an unread body); every other request is
/// answered 200 at its end with `{"connection":C}`. Every request it parses is recorded, with its
/// `Authorization`, so a test can check that HighLevel parsed exactly what the gateway authorized.
package final class EarlyAnsweringUpstream: Sendable {
    /// A request as HighLevel parsed it.
    package struct Parsed: Sendable, Equatable, CustomStringConvertible {
        package var method: String
        package var uri: String
        package var authorization: String?
        package var connection: Int

        package var description: String { "\(method) \(uri) [\(authorization ?? "-")] on \(connection)" }
    }

    package let port: Int
    private let channel: any Channel
    private let log: Log

    private final class Log: Sendable {
        private let state = Mutex((parsed: [Parsed](), connections: 0))
        let answers = ChangeCounter()
        let closed = ChangeCounter()

        var parsed: [Parsed] { state.withLock { $0.parsed } }
        var connections: Int { state.withLock { $0.connections } }

        func connected() -> Int {
            state.withLock {
                $0.connections += 1
                return $0.connections
            }
        }
        func record(_ request: Parsed) { state.withLock { $0.parsed.append(request) } }
    }

    /// Every request parsed so far, in order.
    package var parsed: [Parsed] { log.parsed }
    package var connections: Int { log.connections }

    private init(channel: any Channel, log: Log) {
        self.channel = channel
        self.log = log
        port = channel.localAddress?.port ?? 0
    }

    package static func start(earlyAnswerOver limit: Int = 1024) async throws -> EarlyAnsweringUpstream {
        let log = Log()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false)
                    try channel.pipeline.syncOperations.addHandler(Handler(connection: log.connected(), log: log, limit: limit))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EarlyAnsweringUpstream(channel: channel, log: log)
    }

    /// Returns once `count` answers in all were written (the early ones included).
    package func waitForAnswers(_ count: Int) async {
        await log.answers.wait(after: count - 1)
    }

    /// Returns once `count` connections in all were closed and everything they carried was parsed.
    package func waitForClosedConnections(_ count: Int) async {
        await log.closed.wait(after: count - 1)
    }

    package func stop() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let connection: Int
        let log: Log
        let limit: Int
        var answeredEarly = false

        init(connection: Int, log: Log, limit: Int) {
            self.connection = connection
            self.log = log
            self.limit = limit
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                log.record(
                    Parsed(
                        method: head.method.rawValue, uri: head.uri, authorization: head.headers.first(name: "authorization"), connection: connection)
                )
                answeredEarly = (head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0) > limit
                if answeredEarly { answer(context, .payloadTooLarge, #"{"message":"too large"}"#) }
            case .body:
                break
            case .end:
                if answeredEarly {
                    answeredEarly = false
                } else {
                    answer(context, .ok, "{\"connection\":\(connection)}")
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            log.closed.increment()
            context.fireChannelInactive()
        }

        private func answer(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ text: String) {
            let body = ByteBuffer(string: text)
            let head = HTTPResponseHead(
                version: .http1_1, status: status, headers: ["content-type": "application/json", "content-length": String(body.readableBytes)])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            log.answers.increment()
        }
    }
}
