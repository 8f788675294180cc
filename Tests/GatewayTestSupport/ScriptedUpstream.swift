import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A bare HTTP/1.1 upstream on `127.0.0.1` for the forwarder's connection handling: it answers
/// every request 200 with `{"connection":C,"request":R}` (counted from 1) and, when told, drops
/// a connection on its second request without answering, as a server that gave up on an idle
/// keep-alive connection does. With `tls`, it speaks HTTPS with that certificate.
package final class ScriptedUpstream: Sendable {
    package let port: Int
    private let channel: any Channel
    private let counts: Counts

    package final class Counts: Sendable {
        private let state = Mutex((connections: 0, answered: 0, dropped: 0))
        package var connections: Int { state.withLock { $0.connections } }
        package var answered: Int { state.withLock { $0.answered } }
        package var dropped: Int { state.withLock { $0.dropped } }

        fileprivate func connected() -> Int {
            state.withLock {
                $0.connections += 1
                return $0.connections
            }
        }
        fileprivate func answer() { state.withLock { $0.answered += 1 } }
        fileprivate func drop() { state.withLock { $0.dropped += 1 } }
    }

    package var connections: Int { counts.connections }
    package var answered: Int { counts.answered }
    package var dropped: Int { counts.dropped }

    private init(channel: any Channel, counts: Counts) {
        self.channel = channel
        self.counts = counts
        self.port = channel.localAddress?.port ?? 0
    }

    package static func start(droppingSecondRequests: Bool = false, tls: TestCertificate? = nil) async throws -> ScriptedUpstream {
        let counts = Counts()
        let context = try tls.map {
            try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: [.certificate($0.certificate)], privateKey: .privateKey($0.key)))
        }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(connection: counts.connected(), counts: counts, dropSecond: droppingSecondRequests))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedUpstream(channel: channel, counts: counts)
    }

    package func stop() async throws {
        try await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let connection: Int
        let counts: Counts
        let dropSecond: Bool
        var requests = 0

        init(connection: Int, counts: Counts, dropSecond: Bool) {
            self.connection = connection
            self.counts = counts
            self.dropSecond = dropSecond
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            requests += 1
            if dropSecond, requests == 2 {
                counts.drop()
                context.close(promise: nil)
                return
            }
            // Counted before it is written: the caller may read the count as soon as the answer arrives.
            counts.answer()
            let body = ByteBuffer(string: "{\"connection\":\(connection),\"request\":\(requests)}")
            let head = HTTPResponseHead(
                version: .http1_1, status: .ok,
                headers: ["content-type": "application/json", "content-length": String(body.readableBytes)])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
