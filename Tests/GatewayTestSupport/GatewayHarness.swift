import AsyncHTTPClient
import Foundation
import GRDB
import GatewayPolicy
import GatewayRuntime
import GatewayServer
import HighLevelSimulator
import Logging
import NIOCore
import ServiceLifecycle
import TokenVault

/// A simulator and a gateway configured against it from a real YAML file, every listener on an
/// ephemeral port of 127.0.0.1, and an HTTP client that does not follow redirects.
package struct GatewayHarness: Sendable {
    package let simulator: HighLevelSimulator
    package let simulatorURL: String
    package let gateway: Gateway
    package let directory: TemporaryDirectory
    package let http: HTTPClient
    package let publicURL: String
    package let proxyURL: String
    package let proxyPort: Int
    package let adminURL: String
    package let logs: LogCapture
    package static let adminToken = "admin-token-0123456789abcdef"
    /// `public_url` + `/oauth/callback`, registered with the simulated HighLevel.
    package static let redirectURI = "http://gateway.test/oauth/callback"

    /// The policies directory the gateway reads (a copy of the shipped catalog plus the test's clients).
    package var policiesDirectory: String { directory.file("policies") }

    package static let repositoryRoot = TemporaryDirectory.repositoryRoot
    package static let installScopes = [
        "contacts.readonly", "contacts.write", "oauth.write", "oauth.readonly", "locations.readonly",
        "locations/customValues.write", "snapshots.readonly", "medias.readonly", "medias.write",
    ]

    /// Runs `body` with a gateway wired to a simulator. `auditRecord` is `audit.record`: refusals
    /// by default, so a test of something else does not write a row per allowed call on a loaded
    /// machine (the audit tests ask for `all`).
    package static func run(
        _ simulatorConfiguration: SimulatorConfiguration = SimulatorConfiguration(),
        directory: TemporaryDirectory = TemporaryDirectory(),
        clients: [String: String] = [:],
        extraConfiguration: String = "",
        upstreamURL: String? = nil,
        webhookKeys: WebhookSigner? = nil,
        highlevelConfiguration: String = "",
        busyTimeoutSeconds: Double = 5,
        auditRecord: String = "refusals",
        adminTLS: String? = nil,
        logs: LogCapture = LogCapture(),
        _ body: @Sendable (GatewayHarness) async throws -> Void
    ) async throws {
        let policies = try directory.policies()
        for (name, text) in clients { directory.write("policies/clients/\(name).yaml", text) }
        var registered = simulatorConfiguration
        registered.registeredRedirectURI = registered.registeredRedirectURI ?? Self.redirectURI
        let simulatorConfiguration = registered
        try await HighLevelSimulator.withRunning(simulatorConfiguration) { simulator, simulatorURL in
            let configPath = directory.write(
                "gateway.yaml",
                """
                listen:
                  proxy: 127.0.0.1:0
                  public: 127.0.0.1:0
                  admin: \(adminTLS.map { "{address: 127.0.0.1:0, tls: \($0)}" } ?? "127.0.0.1:0")
                public_url: http://gateway.test
                highlevel:
                  api_base_url: \(upstreamURL ?? simulatorURL)
                  marketplace_url: \(simulatorURL)
                  client_id: \(simulatorConfiguration.clientId)
                  client_secret: file:\(directory.write("client_secret", simulatorConfiguration.clientSecret))
                  install_scopes: [\(installScopes.joined(separator: ", "))]
                \(webhookKeys.map { keys in """
                  webhook_ed25519_public_key: file:\(directory.write("ed25519.pem", keys.ed25519PublicPEM))
                  webhook_rsa_public_key: file:\(directory.write("rsa.pem", keys.rsaPublicPEM))
                """ } ?? "")
                \(highlevelConfiguration.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
                \(highlevelConfiguration.contains("rate_limit:") ? "" : Self.unboundedBudget)
                storage:
                  sqlite_path: \(directory.file("gateway.sqlite"))
                  encryption_key: file:\(directory.write("key", Self.encryptionKey))
                  busy_timeout_seconds: \(busyTimeoutSeconds)
                admin_token: file:\(directory.write("admin_token", adminToken))
                policies_dir: \(policies)
                policy_poll_seconds: 0.05
                tokens:
                  refresher_interval_seconds: 3600
                audit: {record: \(auditRecord)}
                \(extraConfiguration)
                """)
            let logger = logs.logger(label: "gateway-test", level: .debug)
            let gateway = try await Gateway.open(try GatewayConfiguration.load(path: configPath), logger: logger)
            var httpConfiguration = HTTPClient.Configuration()
            httpConfiguration.redirectConfiguration = .disallow
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
            let group = gateway.serviceGroup(gracefulShutdownSignals: [])
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let publicPort = await gateway.listeners.port(.public)
                let proxyPort = await gateway.listeners.port(.proxy)
                let adminPort = await gateway.listeners.port(.admin)
                let harness = GatewayHarness(
                    simulator: simulator, simulatorURL: simulatorURL, gateway: gateway, directory: directory, http: http,
                    publicURL: "http://127.0.0.1:\(publicPort)", proxyURL: "http://127.0.0.1:\(proxyPort)",
                    proxyPort: proxyPort, adminURL: "http://127.0.0.1:\(adminPort)", logs: logs)
                do {
                    try await body(harness)
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    try? await http.shutdown()
                    try? await gateway.close()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                try await http.shutdown()
                try await gateway.close()
            }
        }
    }

    package static let encryptionKey = Data((0..<32).map { UInt8($0 * 7 % 251) }).base64EncodedString()

    package struct Answer: Sendable {
        package var status: Int
        package var headers: [String: String]
        package var body: String
    }

    package func get(_ url: String, headers: [(String, String)] = []) async throws -> Answer {
        try await send("GET", url, headers: headers)
    }

    /// One request through the proxy listener with a gateway key.
    package func proxy(
        _ method: String, _ path: String, key: String?, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> Answer {
        var all = headers
        if let key { all.append(("Authorization", "Bearer \(key)")) }
        return try await send(method, proxyURL + path, headers: all, body: body.map { ByteBuffer(string: $0) })
    }

    package func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: ByteBuffer? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await http.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 22)
        var fields: [String: String] = [:]
        for (name, value) in response.headers { fields[name.lowercased()] = value }
        return Answer(status: Int(response.status.code), headers: fields, body: String(buffer: body))
    }

    /// The browser's part of an install: open the install link, consent at the (simulated)
    /// marketplace, and return the callback URL, pointed at the gateway's public listener.
    package func consent() async throws -> String {
        let install = try await get(publicURL + "/oauth/install")
        guard install.status == 302, let marketplace = install.headers["location"] else { throw HarnessError.unexpected(install) }
        let consent = try await get(marketplace)
        guard consent.status == 302, let callback = consent.headers["location"] else { throw HarnessError.unexpected(consent) }
        return callback.replacingOccurrences(of: "http://gateway.test", with: publicURL)
    }

    /// An install started in HighLevel: the Install button of the app's (simulated) marketplace
    /// listing, consent, and the callback URL HighLevel sends the browser to (a code, no state).
    package func marketplaceConsent() async throws -> String {
        let consent = try await get(simulatorURL + "/apps/\(SimulatorConfiguration().appId)/install")
        guard consent.status == 302, let callback = consent.headers["location"] else { throw HarnessError.unexpected(consent) }
        return callback.replacingOccurrences(of: "http://gateway.test", with: publicURL)
    }

    /// The value of one Prometheus sample on `/metrics` (`name{labels}`), 0 when absent.
    package func metric(_ sample: String) async throws -> Double {
        let text = try await admin("GET", "/metrics", token: nil).body
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1)) ?? .nan
        }
        return 0
    }

    package enum HarnessError: Error {
        case unexpected(Answer)
    }

    /// A request to the admin listener, with the admin token unless told otherwise.
    package func admin(_ method: String, _ path: String, token: String? = GatewayHarness.adminToken) async throws -> Answer {
        try await send(method, adminURL + path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Installs the app for the simulator's installer through the real install flow.
    package func install() async throws {
        let page = try await get(try await consent())
        guard page.status == 200 else { throw HarnessError.unexpected(page) }
    }

    /// Runs `edit` on the live policies directory and returns once the gateway applied or rejected
    /// it, as its log says.
    package func reloadingPolicies(_ edit: () -> Void) async throws {
        let messages: Set<String> = ["policies reloaded", "policy edit rejected; the last valid set keeps serving"]
        let before = logs.count(messages)
        edit()
        try await logs.wait(for: messages, after: before)
    }

    /// Writes a client file into the live policies directory.
    package func writeClient(_ name: String, _ text: String) {
        directory.write("policies/clients/\(name).yaml", text)
    }
}

/// A client policy file for tests, with a fresh key.
package struct TestClient: Sendable {
    package let name: String
    package let key: String

    package init(_ name: String) {
        self.name = name
        self.key = KeyDigest.generateKey()
    }

    package func policy(
        locations: [String] = ["locSim0001"], companies: [String] = [], allow: [String], deny: [String] = [],
        rateLimit: String? = nil
    ) -> String {
        func list(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return """
            client: \(name)
            key: \(KeyDigest(key: key))
            locations: \(list(locations))
            companies: \(list(companies))
            allow: \(list(allow))
            deny: \(list(deny))
            \(rateLimit.map { "rate_limit: \($0)" } ?? "")
            """
    }
}

extension GatewayHarness {
    /// For tests that are not about HighLevel's budget (they send far more than HighLevel's 100
    /// calls per 10 s to one location): a budget they never reach, unless they configure their own.
    package static let unboundedBudget = "  rate_limit: {burst: 1000000/1s}"
}

/// A second connection to a gateway's SQLite file, for tests to look at or set up raw states.
package struct TestDatabase: Sendable {
    private let queue: DatabaseQueue
    private let path: String

    package init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// `PRAGMA integrity_check`: "ok" for a consistent database.
    package func integrityCheck() throws -> String {
        try queue.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } ?? ""
    }

    package func execute(_ sql: String) throws {
        try queue.write { db in try db.execute(sql: sql) }
    }

    /// Runs one statement; the first column of each row it returns, as text.
    package func strings(_ sql: String) throws -> [String] {
        try queue.write { db in try Row.fetchAll(db, sql: sql).map { $0[0] as String? ?? "" } }
    }

    /// Replaces `old` with `new` (of the same length) in the audit trail's stored blocks, as
    /// someone editing the database file would.
    package func replaceInAuditBlocks(_ old: String, with new: String) throws {
        for line in try strings("SELECT first_id || ':' || hex(entries) FROM audit_blocks") {
            let (firstId, bytes) = try AuditBlockBytes.parse(line)
            try execute("UPDATE audit_blocks SET entries = X'\(AuditBlockBytes.replacing(old, with: new, in: bytes))' WHERE first_id = \(firstId)")
        }
    }

    /// Folds the WAL into the main file and truncates it, so a byte search sees what is really kept.
    package func checkpoint() throws {
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// The stored ciphertext of an owner's access token.
    package func sealedAccessToken(_ owner: TokenOwner) throws -> Data {
        try queue.read { db in
            try Data.fetchOne(db, sql: "SELECT access_token FROM tokens WHERE kind = ? AND owner_id = ?", arguments: [owner.kind, owner.id])
        } ?? Data()
    }

    /// Runs `body` while a second process holds the database's write lock (`BEGIN IMMEDIATE`).
    package func holdingWriteLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let script =
            "import sqlite3, time; c = sqlite3.connect(\"\(path)\", isolation_level=None); "
            + "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(60)"
        let holder = ChildProcess("/usr/bin/env", ["python3", "-c", script])
        try holder.start()
        defer { holder.signal(SIGKILL) }
        guard await holder.output(contains: "locked") else { throw TimedOut(limit: .seconds(30)) }
        let result = try await body()
        holder.signal(SIGKILL)
        _ = await holder.exit()
        return result
    }
}

extension GatewayHarness {
    /// The gateway's database file, through a connection of the test's own.
    package func database() throws -> TestDatabase { try TestDatabase(path: directory.file("gateway.sqlite")) }
}
