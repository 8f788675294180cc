import GatewayTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

@testable import GatewayRuntime

/// The forwarder's connections on their own, against a scripted upstream.
@Suite("Upstream connection pool")
struct UpstreamConnectionPoolTests {
    /// Timeouts are not what these tests are about: long enough for a CI machine at its busiest
    /// (where the first seconds of `swift test` start dozens of processes on two cores).
    static func pool(_ url: String, trusting certificate: NIOSSLCertificate? = nil) throws -> UpstreamConnectionPool {
        var settings = UpstreamConnectionPool.Settings(
            endpoint: try #require(UpstreamEndpoint(baseURL: url)), connectTimeout: .seconds(60), headTimeout: .seconds(60),
            readTimeout: .seconds(60))
        if let certificate { settings.tls.trustRoots = .certificates([certificate]) }
        return try UpstreamConnectionPool(settings: settings)
    }

    /// Connections are pooled per event loop: every request here goes out on the same one.
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    static func get(_ pool: UpstreamConnectionPool, _ path: String, method: HTTPMethod = .GET) async throws -> (HTTPResponseStatus, String) {
        var head = UpstreamRequestHead.Writer(method: method, path: path)
        head.add(name: "Host", value: pool.endpoint.hostHeader)
        let response = try await pool.send(head: head.finish(framing: .length(2)), body: ByteBuffer(string: "{}"), on: loop).get()
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

    /// HighLevel reads a request whole on a kept connection, then closes without answering: only
    /// a request that may be sent twice is sent again (RFC 9110 §9.2.2).
    @Test(arguments: [(HTTPMethod.POST, false), (.PATCH, false), (.PUT, true), (.DELETE, true), (.GET, true)])
    func aDroppedKeptConnectionIsRetriedOnlyForAnIdempotentRequest(method: HTTPMethod, retried: Bool) async throws {
        let upstream = try await ScriptedUpstream.start(droppingSecondRequests: true)
        let pool = try Self.pool("http://127.0.0.1:\(upstream.port)")
        #expect(try await Self.get(pool, "/a").1 == #"{"connection":1,"request":1}"#)
        if retried {
            #expect(try await Self.get(pool, "/b", method: method).1 == #"{"connection":2,"request":1}"#)
        } else {
            await #expect(throws: UpstreamFailure.closedBeforeHead(reused: true, requestWritten: true)) {
                _ = try await Self.get(pool, "/b", method: method)
            }
        }
        #expect((upstream.connections, upstream.answered, upstream.dropped) == (retried ? 2 : 1, retried ? 2 : 1, 1))
        await pool.close()
        try await upstream.stop()
    }
}
