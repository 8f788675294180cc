import AsyncHTTPClient
import Crypto
import CryptoExtras
import Foundation
import GatewayPolicy
import GatewayRuntime
import GatewayServer
import HighLevelSimulator
import Logging
import NIOCore
import ServiceLifecycle
import TokenVault

#if canImport(Glibc)
import Glibc
#endif

/// The simulator and a gateway wired to it in one process, with a temporary database, a generated
/// encryption key, a demo policy and a demo client key: the whole flow (install → exchange →
/// proxied call → token health) on one machine, without a HighLevel account.
package struct Sandbox {
    package struct Ports: Sendable {
        package var proxy = 8080
        package var `public` = 8081
        package var admin = 9090
        package var simulator = 0

        package init(proxy: Int = 8080, public: Int = 8081, admin: Int = 9090, simulator: Int = 0) {
            self.proxy = proxy
            self.public = `public`
            self.admin = admin
            self.simulator = simulator
        }
    }

    package var ports: Ports
    package var policiesSource: String
    package var logLevel: Logger.Level
    package var output: @Sendable (String) -> Void = {
        FileHandle.standardOutput.write(Data(($0 + "\n").utf8))
    }

    /// More clients subscribed like the demo one (to the same demo service), and one whose
    /// service never answers: for the fan-out benchmark.
    package var extraSubscribers = 0
    package var deadSubscriber = false

    /// A PostgreSQL database instead of a temporary SQLite file, and more gateways on it (each on
    /// free ports): replicas, for the replica benchmark.
    package var postgresURL: String?
    package var replicas = 1
    /// Whether the gateways keep HighLevel's budget per location (the storm benchmarks send far
    /// more to one location than HighLevel allows, on purpose).
    package var enforceUpstreamBudget = true

    package init(ports: Ports = Ports(), policiesSource: String = "policies", logLevel: Logger.Level = .notice) {
        self.ports = ports
        self.policiesSource = policiesSource
        self.logLevel = logLevel
    }

    /// What the sandbox made, for the instructions and the self-test.
    package struct Session: Sendable {
        package var gateway: Gateway
        package var simulator: HighLevelSimulator
        package var clientKey: String
        package var adminToken: String
        package var proxyURL: String
        package var publicURL: String
        package var adminURL: String
        /// The Install button of the app's simulated marketplace listing.
        package var marketplaceInstallURL: String
        /// Makes the simulator send a signed ContactCreate to the gateway.
        package var sendWebhookURL: String
        package var subscriber: DemoSubscriber
        /// Every replica's proxy listener, the first gateway's first.
        package var replicaProxyURLs: [String]
    }

    /// Runs until SIGINT/SIGTERM, or until `then` returns when given (the self-test).
    package func run(then: (@Sendable (Session) async throws -> Void)? = nil) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ghl-sandbox-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/policies/clients", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The catalog in `policiesSource` when there is one there (its table first); else the
        // gateway uses the one built into the binary, so the sandbox runs from any folder.
        if FileManager.default.fileExists(atPath: policiesSource + "/highlevel-scopes.md") {
            for file in ["highlevel-scopes.md", "catalog-overrides.yaml", "openapi"]
            where FileManager.default.fileExists(atPath: policiesSource + "/" + file) {
                try FileManager.default.copyItem(atPath: policiesSource + "/" + file, toPath: directory + "/policies/" + file)
            }
        }
        let clientKey = KeyDigest.generateKey()
        let webhookSecret = WebhookSecret.generate()
        try write(directory + "/demo-webhook-secret", webhookSecret)
        let subscriberPort = try Self.freePort()
        let subscriber = DemoSubscriber(secret: webhookSecret, output: output)
        let adminToken = "admin_" + EncryptionKeyring.generateKeyBase64().filter { $0.isLetter || $0.isNumber }
        let dead = deadSubscriber ? try LoopbackSocket(listening: true) : nil
        defer { dead?.close() }
        try writePolicies(directory, clientKey: clientKey, subscriberPort: subscriberPort, deadPort: dead?.port)
        // The public URL (HighLevel's redirect target) must name the real port before the listener
        // binds: the simulated developer portal registers it for marketplace installs.
        let publicPort = ports.public == 0 ? try Self.freePort() : ports.public
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.registeredRedirectURI = "http://127.0.0.1:\(publicPort)/oauth/callback"
        simulatorConfiguration.webhookURL = "http://127.0.0.1:\(publicPort)/webhooks/highlevel"
        var logger = Logger(label: "ghl-sandbox")
        logger.logLevel = logLevel

        let simulator = HighLevelSimulator(configuration: simulatorConfiguration)
        let (simulatorPorts, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let simulatorGroup = ServiceGroup(
            services: [
                simulator.application(port: ports.simulator, logger: logger) { portContinuation.yield($0) },
                subscriber.application(port: subscriberPort, logger: logger) { _ in },
            ],
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await simulatorGroup.run() }
            var iterator = simulatorPorts.makeAsyncIterator()
            guard let simulatorPort = await iterator.next() else { return }
            let simulatorURL = "http://127.0.0.1:\(simulatorPort)"
            let configPath = directory + "/gateway.yaml"
            try write(directory + "/client_secret", simulatorConfiguration.clientSecret)
            try write(directory + "/encryption.key", EncryptionKeyring.generateKeyBase64())
            try write(directory + "/admin_token", adminToken)
            try write(directory + "/webhook-ed25519.pem", simulatorConfiguration.webhookPublicKeyPEM)
            var database = "sqlite_path: \(directory)/gateway.sqlite"
            if let postgresURL {
                try write(directory + "/postgres-url", postgresURL)
                database = "postgres_url: file:\(directory)/postgres-url"
            }
            let settings = GatewaySettings(
                directory: directory, simulatorURL: simulatorURL, simulator: simulatorConfiguration, publicPort: publicPort,
                database: database, enforceUpstreamBudget: enforceUpstreamBudget)
            try write(configPath, settings.yaml(proxy: ports.proxy, public: publicPort, admin: ports.admin))
            let gateway = try await Gateway.open(try GatewayConfiguration.load(path: configPath), logger: logger)
            var replicas: [(gateway: Gateway, group: ServiceGroup)] = []
            for index in 1..<max(1, self.replicas) {
                let path = directory + "/gateway-\(index).yaml"
                try write(path, settings.yaml(proxy: 0, public: 0, admin: 0))
                let replica = try await Gateway.open(try GatewayConfiguration.load(path: path), logger: logger)
                let replicaGroup = replica.serviceGroup(gracefulShutdownSignals: [])
                tasks.addTask { try await replicaGroup.run() }
                replicas.append((replica, replicaGroup))
            }
            // The first gateway's group stops everything else when it stops (Ctrl-C, or the self-test's end).
            let group = gateway.serviceGroup(gracefulShutdownSignals: then == nil ? [.sigterm, .sigint] : [])
            let others = [simulatorGroup] + replicas.map(\.group)
            tasks.addTask {
                defer { Task { for other in others { await other.triggerGracefulShutdown() } } }
                try await group.run()
            }
            var replicaProxyURLs: [String] = []
            for replica in [gateway] + replicas.map(\.gateway) {
                replicaProxyURLs.append("http://127.0.0.1:\(await replica.listeners.port(.proxy))")
            }
            let proxyPort = await gateway.listeners.port(.proxy)
            _ = await gateway.listeners.port(.public)
            let adminPort = await gateway.listeners.port(.admin)
            let session = Session(
                gateway: gateway, simulator: simulator, clientKey: clientKey, adminToken: adminToken,
                proxyURL: "http://127.0.0.1:\(proxyPort)", publicURL: "http://127.0.0.1:\(publicPort)",
                adminURL: "http://127.0.0.1:\(adminPort)",
                marketplaceInstallURL: simulatorURL + "/apps/\(simulatorConfiguration.appId)/install",
                sendWebhookURL: simulatorURL + "/sim/webhooks/send?type=ContactCreate&locationId=locSim0001", subscriber: subscriber,
                replicaProxyURLs: replicaProxyURLs)
            if let then {
                do {
                    try await then(session)
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    for replica in replicas { try? await replica.gateway.close() }
                    try? await gateway.close()
                    throw error
                }
                await group.triggerGracefulShutdown()
            } else {
                output(instructions(session))
            }
            try await tasks.waitForAll()
            for replica in replicas { try await replica.gateway.close() }
            try await gateway.close()
        }
    }

    /// The demo client (every location, a webhook subscription to the demo service) and the extra
    /// subscribers the fan-out benchmark asks for (one that never answers with `deadSubscriber`).
    private func writePolicies(_ directory: String, clientKey: String, subscriberPort: Int, deadPort: Int?) throws {
        try write(
            directory + "/policies/clients/demo.yaml",
            """
            client: demo
            description: the sandbox's demo service
            key: \(KeyDigest(key: clientKey))
            locations: ["*"]
            companies: ["*"]
            allow: [contacts.readonly, contacts.write, locations.readonly]
            webhooks:
              url: http://127.0.0.1:\(subscriberPort)/events
              secret: file:\(directory)/demo-webhook-secret
              events: [ContactCreate, ContactDelete, INSTALL, UNINSTALL]
            """)
        let extra =
            (0..<extraSubscribers).map { ("demo-\($0 + 2)", "http://127.0.0.1:\(subscriberPort)/events") }
            + (deadPort.map { [("dead", "http://127.0.0.1:\($0)/events")] } ?? [])
        for (name, url) in extra {
            try write(
                directory + "/policies/clients/\(name).yaml",
                """
                client: \(name)
                key: \(KeyDigest(key: KeyDigest.generateKey()))
                locations: ["*"]
                allow: [contacts.readonly]
                webhooks:
                  url: \(url)
                  secret: file:\(directory)/demo-webhook-secret
                  events: [ContactCreate]
                """)
        }
    }

    /// What a sandbox gateway's configuration is made of; `yaml` writes one for given ports (the
    /// replicas bind free ones).
    private struct GatewaySettings {
        var directory: String
        var simulatorURL: String
        var simulator: SimulatorConfiguration
        var publicPort: Int
        var database: String
        var enforceUpstreamBudget: Bool

        func yaml(proxy: Int, public: Int, admin: Int) -> String {
            """
            listen:
              proxy: 127.0.0.1:\(proxy)
              public: 127.0.0.1:\(`public`)
              admin: 127.0.0.1:\(admin)
            public_url: http://127.0.0.1:\(publicPort)
            highlevel:
              api_base_url: \(simulatorURL)
              marketplace_url: \(simulatorURL)
              client_id: \(simulator.clientId)
              client_secret: file:\(directory)/client_secret
              install_scopes: [contacts.readonly, contacts.write, locations.readonly, oauth.readonly, oauth.write]
              rate_limit: {enforce: \(enforceUpstreamBudget)}
              webhook_ed25519_public_key: file:\(directory)/webhook-ed25519.pem
            storage:
              \(database)
              encryption_key: file:\(directory)/encryption.key
            admin_token: file:\(directory)/admin_token
            policies_dir: \(directory)/policies
            shutdown_grace_seconds: 5
            """
        }
    }

    package func instructions(_ session: Session) -> String {
        """
        ghl-gateway sandbox is running: a simulated HighLevel and a gateway wired to it.
        Temporary database, generated encryption key; everything is deleted on Ctrl-C.

        1. Install the app (as an agency admin choosing two locations); follow the redirects:
           curl -sL \(session.publicURL)/oauth/install
           or as most installs start, in HighLevel's marketplace (the listing's Install button;
           HighLevel calls back with a code and no state):
           curl -sL \(session.marketplaceInstallURL)

        2. Call HighLevel's contacts API through the gateway with the demo client's key
           (the gateway exchanges the agency token for the location's token on the first call):
           curl -s -H "Authorization: Bearer \(session.clientKey)" "\(session.proxyURL)/contacts/demo-contact?locationId=locSim0001"

        3. Have HighLevel send a signed ContactCreate; the gateway verifies it and delivers it,
           signed per Standard Webhooks, to the demo client's service (a line appears here):
           curl -s -X POST "\(session.sendWebhookURL)"
           curl -s -H "Authorization: Bearer \(session.adminToken)" \(session.adminURL)/webhooks/deliveries

        4. Look at the tokens:
           curl -s -H "Authorization: Bearer \(session.adminToken)" \(session.adminURL)/health/tokens
           curl -s \(session.adminURL)/readyz
           curl -s \(session.adminURL)/metrics

        Ctrl-C stops it.
        """
    }

    /// A port that was free a moment ago (bound to port 0, read, released).
    package static func freePort() throws -> Int {
        let socket = try LoopbackSocket(listening: false)
        socket.close()
        return socket.port
    }

    private func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: [.atomic])
    }
}
