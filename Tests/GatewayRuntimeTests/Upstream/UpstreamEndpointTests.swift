import Testing

@testable import GatewayRuntime

@Suite("Upstream endpoint")
struct UpstreamEndpointTests {
    @Test func baseURLsAreTakenApart() throws {
        let highlevel = try #require(UpstreamEndpoint(baseURL: "https://services.leadconnectorhq.com"))
        #expect(highlevel.useTLS && highlevel.port == 443 && highlevel.host == "services.leadconnectorhq.com")
        #expect(highlevel.hostHeader == "services.leadconnectorhq.com" && highlevel.pathPrefix.isEmpty)
        #expect(highlevel.tlsServerName == "services.leadconnectorhq.com")

        let local = try #require(UpstreamEndpoint(baseURL: "http://127.0.0.1:8080/api/"))
        #expect(!local.useTLS && local.port == 8080 && local.hostHeader == "127.0.0.1:8080" && local.pathPrefix == "/api")
        #expect(local.tlsServerName == nil)

        let ipv6 = try #require(UpstreamEndpoint(baseURL: "https://[::1]:8443"))
        #expect(ipv6.host == "::1" && ipv6.hostHeader == "[::1]:8443" && ipv6.tlsServerName == nil)
        #expect(UpstreamEndpoint(baseURL: "http://example.com:80")?.hostHeader == "example.com")
    }

    @Test(arguments: ["ftp://example.com", "example.com", "https://", "https://example.com/?q=1", "https://example.com/#f"])
    func otherURLsAreRefused(url: String) {
        #expect(UpstreamEndpoint(baseURL: url) == nil)
    }
}
