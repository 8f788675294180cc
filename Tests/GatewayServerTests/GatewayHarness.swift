import AsyncHTTPClient
import Foundation
import GatewayServer
import GatewayTestSupport
import HighLevelSimulator
import Logging
import NIOCore
import ServiceLifecycle

/// A simulator and a gateway configured against it from a real YAML file, every listener on an
/// ephemeral port of 127.0.0.1, and an HTTP client that does not follow redirects.
struct GatewayHarness: Sendable {
    let simulator: HighLevelSimulator
    let simulatorURL: String
    let gateway: Gateway
    let directory: TemporaryDirectory
    let http: HTTPClient
    let publicURL: String

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let installScopes = ["contacts.readonly", "contacts.write", "oauth.write", "oauth.readonly", "locations.readonly"]

    static func run(
        _ simulatorConfiguration: SimulatorConfiguration = SimulatorConfiguration(),
        directory: TemporaryDirectory = TemporaryDirectory(),
        _ body: @Sendable (GatewayHarness) async throws -> Void
    ) async throws {
        try await HighLevelSimulator.withRunning(simulatorConfiguration) { simulator, simulatorURL in
            let configPath = directory.write("gateway.yaml", """
                listen:
                  proxy: 127.0.0.1:0
                  public: 127.0.0.1:0
                  admin: 127.0.0.1:0
                public_url: http://gateway.test
                highlevel:
                  api_base_url: \(simulatorURL)
                  marketplace_url: \(simulatorURL)
                  client_id: \(simulatorConfiguration.clientId)
                  client_secret: file:\(directory.write("client_secret", simulatorConfiguration.clientSecret))
                  install_scopes: [\(installScopes.joined(separator: ", "))]
                storage:
                  sqlite_path: \(directory.file("gateway.sqlite"))
                  encryption_key: file:\(directory.write("key", Self.encryptionKey))
                admin_token: file:\(directory.write("admin_token", "admin-token-0123456789abcdef"))
                policies_dir: \(repositoryRoot)/policies
                tokens:
                  refresher_interval_seconds: 3600
                """)
            var logger = Logger(label: "gateway-test")
            logger.logLevel = .critical
            let gateway = try await Gateway.open(try GatewayConfiguration.load(path: configPath), logger: logger)
            var httpConfiguration = HTTPClient.Configuration()
            httpConfiguration.redirectConfiguration = .disallow
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
            let group = gateway.serviceGroup(gracefulShutdownSignals: [])
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let publicPort = await gateway.listeners.port(.public)
                let harness = GatewayHarness(
                    simulator: simulator, simulatorURL: simulatorURL, gateway: gateway, directory: directory, http: http,
                    publicURL: "http://127.0.0.1:\(publicPort)")
                do {
                    try await body(harness)
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await http.shutdown()
                    try? await gateway.http.shutdown()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                try await http.shutdown()
                try await gateway.http.shutdown()
            }
        }
    }

    static let encryptionKey = Data((0..<32).map { UInt8($0 * 7 % 251) }).base64EncodedString()

    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 22)
        var fields: [String: String] = [:]
        for (name, value) in response.headers { fields[name.lowercased()] = value }
        return Answer(status: Int(response.status.code), headers: fields, body: String(buffer: body))
    }

    /// The browser's part of an install: open the install link, consent at the (simulated)
    /// marketplace, and return the callback URL, pointed at the gateway's public listener.
    func consent() async throws -> String {
        let install = try await get(publicURL + "/oauth/install")
        guard install.status == 302, let marketplace = install.headers["location"] else { throw HarnessError.unexpected(install) }
        let consent = try await get(marketplace)
        guard consent.status == 302, let callback = consent.headers["location"] else { throw HarnessError.unexpected(consent) }
        return callback.replacingOccurrences(of: "http://gateway.test", with: publicURL)
    }

    enum HarnessError: Error {
        case unexpected(Answer)
    }
}
