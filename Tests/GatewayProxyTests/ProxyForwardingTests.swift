import AsyncHTTPClient
import Foundation
import GatewayTestSupport
import HighLevelSimulator
import NIOCore
import Testing
import TokenVault

@Suite("Proxy forwarding")
struct ProxyForwardingTests {
    static let client = TestClient("svc")
    static let clients = [
        "svc": client.policy(companies: ["cmpSim0001"], allow: ["contacts.readonly", "contacts.write", "medias.readonly", "medias.write"])
    ]

    @Test func hopByHopAndCallerHeadersStayHome() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let answer = try await harness.proxy(
                "GET", "/contacts/abc", key: Self.client.key,
                headers: [
                    ("Connection", "keep-alive, X-Secret-Hop"), ("X-Secret-Hop", "drop me"), ("Keep-Alive", "timeout=5"),
                    ("Proxy-Authorization", "Basic abc"), ("X-Company-Id", "cmpSim0001"), ("Accept", "application/json"),
                    ("X-Custom", "kept"),
                ])
            #expect(answer.status == 200)
            let names = Set(try #require(await harness.simulator.state.calls.last).headers.map { $0.name.lowercased() })
            for dropped in ["x-secret-hop", "keep-alive", "proxy-authorization", "x-company-id", "cookie"] {
                #expect(!names.contains(dropped), "\(dropped) reached upstream")
            }
            #expect(names.contains("x-custom"))
            #expect(names.contains("accept"))
            let authorizations = try #require(await harness.simulator.state.calls.last).headers.filter { $0.name.lowercased() == "authorization" }
            #expect(authorizations.count == 1)
        }
    }

    @Test func aTokenThatCannotBeAHeaderValueIsNeverSent() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: Self.client.key, headers: [("X-Company-Id", "cmpSim0001")]).status == 200)
            let owner = TokenOwner.location("locSim0001")
            let stored = try #require(try await harness.gateway.vault.token(for: owner))
            let forged = TokenGrant(
                accessToken: Secret("forged\r\nX-Injected: 1"), refreshToken: stored.refreshToken, scopes: stored.record.scopes,
                expiresAt: Date().addingTimeInterval(3600), origin: .refresh)
            _ = try await harness.gateway.vault.store(forged, for: owner, replacing: stored.record.version)
            await harness.gateway.broker.forget(owner)
            let calls = await harness.simulator.state.calls.count
            for _ in 0..<2 {
                // Whichever path serves it: the token is read from the vault, then held in memory.
                let answer = try await harness.proxy("GET", "/contacts/abc", key: Self.client.key, headers: [("X-Company-Id", "cmpSim0001")])
                #expect(answer.status == 503)
                #expect(answer.body.contains("token_unavailable"))
                #expect(!answer.body.contains("forged"))
            }
            #expect(await harness.simulator.state.calls.count == calls)
        }
    }

    @Test func upstreamErrorsPassThroughUnchanged() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            await harness.simulator.state.rejectNextCalls(2)
            let answer = try await harness.proxy("GET", "/contacts/abc", key: Self.client.key)
            // Rejected twice: the gateway refreshed once, replayed once, and passes HighLevel's 401 through.
            #expect(answer.status == 401)
            #expect(answer.body == #"{"message":"Invalid JWT","statusCode":401}"#)
            #expect(await harness.simulator.state.refreshes == 1)
            #expect(await harness.simulator.state.rejectedCalls == 2)
        }
    }

    @Test func anUpstream401IsRefreshedAndReplayedOnce() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: Self.client.key).status == 200)
            let before = try #require(try await harness.gateway.vault.token(for: .location("locSim0001")))
            await harness.simulator.state.rejectNextCalls(1)
            let body = #"{"firstName":"Ada"}"#
            let answer = try await harness.proxy(
                "PUT", "/contacts/abc", key: Self.client.key, headers: [("Content-Type", "application/json")], body: body)
            #expect(answer.status == 200)
            #expect(await harness.simulator.state.refreshes == 1)
            #expect(await harness.simulator.state.rejectedCalls == 1)
            let call = try #require(await harness.simulator.state.calls.last)
            #expect(String(decoding: call.body, as: UTF8.self) == body)
            let after = try #require(try await harness.gateway.vault.token(for: .location("locSim0001")))
            #expect(after.record.version == before.record.version + 1)
            #expect(call.accessToken == after.accessToken.revealed)
        }
    }

    @Test func aStreamedBodyIsNotReplayed() async throws {
        try await GatewayHarness.run(clients: Self.clients, extraConfiguration: "limits:\n  replay_body_bytes: 10\n") { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: Self.client.key).status == 200)
            await harness.simulator.state.rejectNextCalls(1)
            let answer = try await harness.proxy(
                "POST", "/medias/upload-file", key: Self.client.key, headers: [("Content-Type", "application/octet-stream")],
                body: String(repeating: "z", count: 100))
            #expect(answer.status == 401)
            #expect(await harness.simulator.state.refreshes == 0)
        }
    }

    @Test func largeBodiesStreamBothWaysWithFlatMemory() async throws {
        let size = 100 * 1024 * 1024
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let residentBefore = Self.residentBytes()

            var upload = HTTPClientRequest(url: harness.proxyURL + "/medias/upload-file")
            upload.method = .POST
            upload.headers.add(name: "Authorization", value: "Bearer \(Self.client.key)")
            upload.headers.add(name: "Content-Type", value: "application/octet-stream")
            let chunk = ByteBuffer(repeating: UInt8(ascii: "u"), count: 256 * 1024)
            upload.body = .stream(ChunkSequence(chunk: chunk, count: size / chunk.readableBytes), length: .known(Int64(size)))
            let uploaded = try await harness.http.execute(upload, timeout: .seconds(120))
            #expect(uploaded.status.code == 200)
            _ = try await uploaded.body.collect(upTo: 1 << 16)
            #expect(await harness.simulator.state.calls.last?.bodyBytes == size)

            var download = HTTPClientRequest(url: harness.proxyURL + "/medias/files?sim_response_bytes=\(size)")
            download.headers.add(name: "Authorization", value: "Bearer \(Self.client.key)")
            let downloaded = try await harness.http.execute(download, timeout: .seconds(120))
            #expect(downloaded.status.code == 200)
            #expect(downloaded.headers.first(name: "content-length") == String(size))
            var received = 0
            var peak = 0
            for try await part in downloaded.body {
                received += part.readableBytes
                peak = max(peak, Self.residentBytes())
            }
            #expect(received == size)
            let growth = max(peak, Self.residentBytes()) - residentBefore
            #expect(growth < 64 * 1024 * 1024, "resident memory grew by \(growth / 1_048_576) MiB while streaming 2 × 100 MiB")
        }
    }

    @Test func anUnreachableUpstreamIs502() async throws {
        let directory = TemporaryDirectory()
        try await GatewayHarness.run(directory: directory, clients: Self.clients) { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: Self.client.key).status == 200)
        }
        // The same database, with HighLevel's address now a closed port.
        try await GatewayHarness.run(directory: directory, clients: Self.clients, upstreamURL: "http://127.0.0.1:1") { broken in
            let answer = try await broken.proxy("GET", "/contacts/abc", key: Self.client.key)
            #expect(answer.status == 502)
            #expect(answer.body.contains("\"code\":\"upstream_unreachable\""))
        }
    }

    @Test func aSlowUpstreamIs504() async throws {
        // A timeout with room for a busy machine (the whole suite runs in parallel), a delay well past it.
        try await GatewayHarness.run(clients: Self.clients, extraConfiguration: "upstream:\n  timeout_seconds: 1\n") { harness in
            try await harness.install()
            #expect(try await harness.proxy("GET", "/contacts/warm", key: Self.client.key).status == 200)
            await harness.simulator.state.delayNextCalls(1, by: .seconds(3))
            let answer = try await harness.proxy("GET", "/contacts/abc", key: Self.client.key)
            #expect(answer.status == 504)
            #expect(answer.body.contains("\"code\":\"upstream_timeout\""))
        }
    }

    @Test(arguments: [
        "/contacts/../locations/x", "/contacts/%2e%2e/x", "/contacts/%2E%2E/x", "/contacts/./x", "/contacts/a%2Fb",
        "/contacts/a%5Cb", "//contacts/x", "/contacts//x", "/contacts/x%00", "/contacts/x%zz", "/contacts/x%4",
        "/contacts/%252e%252e", "/contacts/x;jsessionid=1", "/contacts/%C0%AE%C0%AE", "/contacts/x\\y",
    ])
    func badPathsAre400AndNeverForwarded(path: String) async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let answer = await RawHTTP.exchange(
                port: harness.proxyPort,
                "GET \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(Self.client.key)\r\nConnection: close\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(path): \(answer.prefix(200))")
            #expect(answer.contains("\"code\":\"bad_request\""), "\(path): \(answer)")
            #expect(await harness.simulator.state.calls.isEmpty)
        }
    }

    @Test func absoluteFormTargetsAreRefused() async throws {
        try await GatewayHarness.run(clients: Self.clients) { harness in
            try await harness.install()
            let answer = await RawHTTP.exchange(
                port: harness.proxyPort,
                "GET http://evil.example/contacts/x HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer \(Self.client.key)\r\nConnection: close\r\n\r\n"
            )
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(300))")
            #expect(await harness.simulator.state.calls.isEmpty)
            let hostElsewhere = await RawHTTP.exchange(
                port: harness.proxyPort,
                "GET /contacts/x HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer \(Self.client.key)\r\nConnection: close\r\n\r\n")
            #expect(hostElsewhere.hasPrefix("HTTP/1.1 200"))
            #expect(await harness.simulator.state.calls.count == 1)
        }
    }

    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// `count` copies of one buffer, as a request body stream.
struct ChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunk: ByteBuffer
    let count: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let chunk: ByteBuffer
        var left: Int

        mutating func next() async -> ByteBuffer? {
            guard left > 0 else { return nil }
            left -= 1
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunk: chunk, left: count) }
}
