import AsyncHTTPClient
import Foundation
import GatewayPolicy
import HighLevelSimulator
import NIOCore

/// Files for running `ghl-gateway serve` as a separate process against an in-process simulator:
/// configuration (ports 0, JSON logs), policies with one client, secrets in files.
package struct ServeFixture: Sendable {
    package let directory: TemporaryDirectory
    package let configPath: String
    package let clientKey: String
    package static let adminToken = "admin-token-for-serve-tests"
    /// `ghl-gateway`, built beside the test bundle.
    package static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("ghl-gateway").path

    /// `webhookKey` configures this Ed25519 public key (PEM) for HighLevel's signatures; `database`
    /// replaces the fixture's own SQLite file (several replicas share one PostgreSQL database);
    /// `budget` is the `highlevel.rate_limit` line; `extra` is appended to the configuration.
    package init(
        simulatorURL: String, simulator: SimulatorConfiguration, scope: String = "contacts.readonly",
        directory: TemporaryDirectory = TemporaryDirectory(), webhookKey: String? = nil, database: VaultDatabase? = nil,
        budget: String = GatewayHarness.unboundedBudget, extra: String = ""
    ) throws {
        self.directory = directory
        try directory.policies()
        clientKey = KeyDigest.generateKey()
        configPath = directory.file("gateway.yaml")
        writePolicy(scope)
        directory.write(
            "gateway.yaml",
            """
            listen: {proxy: "127.0.0.1:0", public: "127.0.0.1:0", admin: "127.0.0.1:0"}
            public_url: http://gateway.test
            highlevel:
              api_base_url: \(simulatorURL)
              marketplace_url: \(simulatorURL)
              client_id: \(simulator.clientId)
              client_secret: file:\(directory.write("secret", simulator.clientSecret))
              install_scopes: [contacts.readonly, contacts.write, oauth.write]
            \(budget)
            \(webhookKey.map { "  webhook_ed25519_public_key: file:" + directory.write("webhook.pem", $0) } ?? "")
            storage:
              \(database?.storageConfiguration ?? "sqlite_path: \(directory.file("gateway.sqlite"))")
              encryption_key: file:\(directory.write("key", Data(repeating: 3, count: 32).base64EncodedString()))
            admin_token: file:\(directory.write("admin", Self.adminToken))
            policies_dir: \(directory.file("policies"))
            policy_poll_seconds: 3600
            shutdown_grace_seconds: 10
            logging: {level: info, format: json}
            \(extra)
            """)
    }

    /// Replaces the client's policy with one allowing `scope` for locSim0001.
    package func writePolicy(_ scope: String) {
        directory.write("policies/clients/svc.yaml", "client: svc\nkey: \(KeyDigest(key: clientKey))\nlocations: [locSim0001]\nallow: [\(scope)]\n")
    }

    /// Starts `serve` (as replica `replica`, or a new one) and waits until its three listeners are
    /// bound; returns the process and their ports.
    package func start(replica: String = UUID().uuidString) async throws -> (process: ChildProcess, ports: [String: Int]) {
        var environment = ProcessInfo.processInfo.environment
        // Each process started is its own replica, unless a test restarts one under the same name.
        environment["GHL_GATEWAY_REPLICA_ID"] = replica
        let serve = ChildProcess(Self.binary, ["serve", "--config", configPath], environment: environment)
        try serve.start()
        for listener in ["proxy", "public", "admin"] {
            guard await serve.output(contains: "\"listener\":\"\(listener)\"") else { throw TimedOut(limit: .seconds(30)) }
        }
        return (serve, Self.ports(serve.text))
    }

    /// The listeners' ports from the `listening` log lines.
    package static func ports(_ output: String) -> [String: Int] {
        var ports: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["message"] as? String == "listening", let name = object["listener"] as? String,
                let port = (object["port"] as? String).flatMap(Int.init)
            else { continue }
            ports[name] = port
        }
        return ports
    }
}

/// HTTP to a gateway process, without following redirects.
package struct ProcessClient: Sendable {
    package let ports: [String: Int]

    package init(ports: [String: Int]) {
        self.ports = ports
    }

    package func url(_ listener: String, _ path: String) -> String { "http://127.0.0.1:\(ports[listener] ?? 0)\(path)" }

    package func send(
        _ url: String, method: String = "GET", headers: [(String, String)] = [], body: Data? = nil
    ) async throws -> (status: Int, body: String, location: String?) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .init(rawValue: method)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await http.execute(request, timeout: .seconds(15))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            try await http.shutdown()
            return (Int(response.status.code), text, response.headers.first(name: "location"))
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// A proxied contacts call for `location` with client key `key`: its status.
    package func callContacts(key: String, location: String = "locSim0001") async throws -> Int {
        try await send(url("proxy", "/contacts/abc?locationId=\(location)"), headers: [("Authorization", "Bearer \(key)")]).status
    }

    /// The install, as a browser does it: install link, simulated consent, callback.
    package func install() async throws {
        let install = try await send(url("public", "/oauth/install"))
        guard let marketplace = install.location else { throw TimedOut(limit: .zero) }
        let consent = try await send(marketplace)
        guard let callback = consent.location?.replacingOccurrences(of: "http://gateway.test", with: url("public", "")) else {
            throw TimedOut(limit: .zero)
        }
        let done = try await send(callback)
        guard done.status == 200 else { throw TimedOut(limit: .zero) }
    }

    package func admin(_ method: String, _ path: String) async throws -> (status: Int, body: String, location: String?) {
        try await send(url("admin", path), method: method, headers: [("Authorization", "Bearer \(ServeFixture.adminToken)")])
    }
}
