import GatewayTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

@testable import GatewayServer

/// The forwarder's connections on their own, against a scripted upstream.
@Suite("Upstream connection pool")
struct UpstreamConnectionPoolTests {
    static func pool(_ url: String, trusting certificate: NIOSSLCertificate? = nil) throws -> UpstreamConnectionPool {
        var settings = UpstreamConnectionPool.Settings(
            endpoint: try #require(UpstreamEndpoint(baseURL: url)), connectTimeout: .seconds(5), headTimeout: .seconds(5),
            readTimeout: .seconds(5))
        if let certificate { settings.tls.trustRoots = .certificates([certificate]) }
        return try UpstreamConnectionPool(settings: settings)
    }

    /// Connections are pooled per event loop: every request here goes out on the same one.
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    static func get(_ pool: UpstreamConnectionPool, _ path: String) async throws -> (HTTPResponseStatus, String) {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: ["Host": pool.endpoint.hostHeader])
        let response = try await pool.send(head: head, body: nil, on: loop).get()
        guard case .buffered(let body) = response.body else { return (response.head.status, "<streamed>") }
        return (response.head.status, body.map { String(buffer: $0) } ?? "")
    }

    @Test func httpsIsVerifiedAndConnectionsAreReused() async throws {
        let certificate = try TestCertificate()
        let upstream = try await ScriptedUpstream.start(tls: certificate)
        let pool = try Self.pool("https://localhost:\(upstream.port)", trusting: certificate.certificate)
        let first = try await Self.get(pool, "/a")
        #expect(first.0 == .ok && first.1 == #"{"connection":1,"request":1}"#)
        let second = try await Self.get(pool, "/b")
        #expect(second.1 == #"{"connection":1,"request":2}"#)

        // The same server is refused by a pool that trusts only the system's roots.
        let strict = try Self.pool("https://localhost:\(upstream.port)")
        await #expect(throws: UpstreamFailure.self) { _ = try await Self.get(strict, "/c") }
        #expect(upstream.answered == 2)
        await pool.close()
        await strict.close()
        try await upstream.stop()
    }
}
