import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The README's steps against a sandbox, as a user would run them with curl.
package struct SandboxClient: Sendable {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String

        package init(description: String) {
            self.description = description
        }
    }

    let session: Sandbox.Session
    let http: HTTPClient

    /// Runs `body` with a client that follows redirects, closing it afterwards.
    package static func with<Result: Sendable>(
        _ session: Sandbox.Session, _ body: @Sendable (SandboxClient) async throws -> Result
    ) async throws -> Result {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await body(SandboxClient(session: session, http: http))
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// Step 1: the install, following the consent and the callback.
    package func install() async throws {
        let install = try await get(session.publicURL + "/oauth/install")
        guard install.status == 200, install.body.contains("locSim0001") else { throw Failure(description: "install: \(install.status)") }
    }

    /// Step 1, as most installs start: the marketplace listing's Install button (a callback without a state).
    package func marketplaceInstall() async throws {
        let install = try await get(session.marketplaceInstallURL)
        guard install.status == 200, install.body.contains("Company: cmpSim0001") else {
            throw Failure(description: "marketplace install: \(install.status)")
        }
    }

    /// Step 2: a proxied contacts call with the demo key (through `proxyURL`, the first gateway's by
    /// default); returns the status.
    package func call(contact: String = "demo-contact", location: String = "locSim0001", through proxyURL: String? = nil) async throws -> Int {
        try await get(
            (proxyURL ?? session.proxyURL) + "/contacts/\(contact)?locationId=\(location)",
            headers: [("Authorization", "Bearer \(session.clientKey)")]
        ).status
    }

    /// Step 3: the token health JSON.
    package func health() async throws -> (status: Int, body: String) {
        try await get(session.adminURL + "/health/tokens", headers: [("Authorization", "Bearer \(session.adminToken)")])
    }

    /// The steps, checked, with a line per step.
    package func selfTest(output: @Sendable (String) -> Void) async throws {
        try await install()
        output("install: ok (company cmpSim0001)")
        try await marketplaceInstall()
        output("marketplace install: ok (started in HighLevel, no state)")
        let status = try await call()
        let recorded = await session.simulator.state.calls.last
        guard status == 200, recorded?.owner == .location("locSim0001"), await session.simulator.state.exchanges == 1 else {
            throw Failure(description: "proxied call: \(status)")
        }
        output("proxied call: ok (exchanged for location locSim0001's token, forwarded with it)")
        let health = try await health()
        guard health.status == 200, health.body.contains("\"status\":\"ok\""), health.body.contains("\"healthy\":2") else {
            throw Failure(description: "token health: \(health.status) \(health.body)")
        }
        output("token health: ok (2 healthy tokens)")
        try await webhook()
        output("webhook fan-out: ok (ContactCreate signed by HighLevel, verified, delivered to the demo service and verified there)")
    }

    /// Step 3: the simulator sends a signed ContactCreate; the demo service must receive it within 10 s.
    package func webhook() async throws {
        let sent = try await get(session.sendWebhookURL, method: .POST)
        guard sent.status == 200, sent.body.contains("\"gatewayStatus\":200") else { throw Failure(description: "webhook: \(sent.body)") }
        let stream = session.subscriber.received
        let type = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard type == "ContactCreate" else { throw Failure(description: "webhook: the demo service received nothing in 10 s") }
    }

    private func get(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = []) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}
