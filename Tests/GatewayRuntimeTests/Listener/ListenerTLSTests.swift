import AsyncHTTPClient
import Foundation
import GatewayTestSupport
import NIOSSL
import Testing

/// A listener terminates TLS itself (issue 18): it serves its certificate, picks up a new one
/// without dropping open connections, keeps the old one when the new files do not load, and with
/// `client_ca` refuses a client without a certificate that CA signed.
@Suite("Listener: TLS")
struct ListenerTLSTests {
    let directory = TemporaryDirectory()

    /// A client that trusts only `authority`, presenting `identity` when given.
    private func client(trusting authority: TestCertificate, identity: TestCertificate? = nil) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([authority.certificate])
        if let identity {
            tls.certificateChain = [.certificate(identity.certificate)]
            tls.privateKey = .privateKey(identity.key)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(5))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body`, then shuts the clients down, also when it throws.
    private func using(_ clients: [HTTPClient], _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            for client in clients { try? await client.shutdown() }
            throw error
        }
        for client in clients { try await client.shutdown() }
    }

    private func status(_ client: HTTPClient, _ url: String) async -> Int? {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        guard let response = try? await client.execute(request, timeout: .seconds(5)) else { return nil }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    private func install(_ certificate: TestCertificate) {
        directory.write("tls/cert.pem", certificate.certificatePEM)
        directory.write("tls/key.pem", certificate.keyPEM)
    }

    private var tlsFiles: String {
        "{certificate: 'file:\(directory.file("tls/cert.pem"))', private_key: 'file:\(directory.file("tls/key.pem"))'}"
    }

    @Test func aListenerServesItsCertificateAndPicksUpANewOneWithoutDroppingConnections() async throws {
        let first = try TestCertificate()
        let second = try TestCertificate()
        install(first)
        let logs = LogCapture()
        try await GatewayHarness.run(adminTLS: tlsFiles, logs: logs) { harness in
            let url = "https://localhost:\(await harness.gateway.listeners.port(.admin))/healthz"
            let trustsFirst = client(trusting: first)
            let trustsSecond = client(trusting: second)
            let fresh = client(trusting: second)
            try await using([trustsFirst, trustsSecond, fresh]) {
                #expect(await status(trustsFirst, url) == 200)
                #expect(await status(trustsSecond, url) == nil)
                let plain = try? await harness.get("http://127.0.0.1:\(await harness.gateway.listeners.port(.admin))/healthz")
                #expect(plain == nil)

                let reloads = logs.count(["TLS certificate reloaded"])
                install(second)
                try await logs.wait(for: ["TLS certificate reloaded"], after: reloads)
                #expect(await status(trustsSecond, url) == 200)
                // The connection opened before the swap is still the first certificate's, and still served.
                #expect(await status(trustsFirst, url) == 200)

                let rejections = logs.count(["TLS files rejected; the certificate in force keeps serving"])
                directory.write("tls/cert.pem", "not a certificate")
                try await logs.wait(for: ["TLS files rejected; the certificate in force keeps serving"], after: rejections)
                #expect(await status(fresh, url) == 200)
            }
        }
    }

    @Test func withAClientCAAClientMustPresentACertificateItSigned() async throws {
        let server = try TestCertificate()
        let authority = try TestCertificate()
        let stranger = try TestCertificate()
        install(server)
        directory.write("tls/clients.pem", authority.certificatePEM)
        let files =
            "{certificate: 'file:\(directory.file("tls/cert.pem"))', private_key: 'file:\(directory.file("tls/key.pem"))', "
            + "client_ca: 'file:\(directory.file("tls/clients.pem"))'}"
        try await GatewayHarness.run(adminTLS: files) { harness in
            let url = "https://localhost:\(await harness.gateway.listeners.port(.admin))/healthz"
            let signedIdentity = try authority.issued(to: "billing-service")
            let unsignedIdentity = try stranger.issued(to: "intruder")
            let anonymous = client(trusting: server)
            let signed = client(trusting: server, identity: signedIdentity)
            let unsigned = client(trusting: server, identity: unsignedIdentity)
            try await using([anonymous, signed, unsigned]) {
                #expect(await status(anonymous, url) == nil)
                #expect(await status(unsigned, url) == nil)
                #expect(await status(signed, url) == 200)
            }
        }
    }
}
