import AsyncHTTPClient
import Foundation
import GatewayProxy
import GatewayRuntime
import HighLevelOAuth
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import TokenVault
import UnixSignals

/// The running gateway: its vault, token broker, shared HTTP client and listeners, assembled
/// from a configuration and run as services under one ServiceGroup.
package final class Gateway: Sendable {
    package let configuration: GatewayConfiguration
    package let vault: any TokenVault
    package let broker: TokenBroker
    package let oauth: HighLevelOAuthClient
    package let http: HTTPClient
    /// Connections the proxy forwards over, per event loop.
    let upstream: UpstreamConnectionPool
    package let policies: PolicyStore
    let webhookVerifier: WebhookVerifier
    let webhookWorker: WebhookWorker
    let webhookDeliverer: WebhookDeliverer
    /// Events no client subscribes to, since start (`/health/webhooks`).
    let unroutedEvents = UnroutedEvents()
    /// Since when the database has not answered `/readyz` (`readiness_database_grace_seconds`).
    let databaseOutage = DatabaseOutage()
    /// Live replicas on the vault, which share each client's rate limit and each location's HighLevel budget.
    let replicas: ReplicaHeartbeat
    /// HighLevel's limits per location (`highlevel.rate_limit`, `upstream.queue_seconds`).
    let budget: UpstreamBudget
    /// Install callbacks without a state, per client address (`install.callback_rate_limit`).
    let callbackLimiter = ClientRateLimiter(maxKeys: 10_000)
    package let metrics: GatewayMetrics
    /// Spans exported over OTLP (`telemetry:`); nil when not configured.
    let tracing: GatewayTracing?
    /// Decisions and admin actions, kept in the vault (`audit:`); nil with `record: off`.
    let audit: AuditTrail?
    package let logger: Logger
    /// Ports the listeners actually bound (port 0 in the configuration picks a free one).
    package let listeners = BoundListeners()
    /// Each listener's open connections, within its `limits`.
    let connections: [ListenerKind: ListenerConnections]
    /// The TLS contexts of the listeners that terminate TLS (`listen.<listener>.tls`).
    let tls: [ListenerKind: TLSContextStore]

    private init(
        configuration: GatewayConfiguration, vault: any TokenVault, broker: TokenBroker, oauth: HighLevelOAuthClient,
        http: HTTPClient, upstream: UpstreamConnectionPool, policies: PolicyStore, webhookVerifier: WebhookVerifier,
        tls: [ListenerKind: TLSContextStore], replica: ReplicaIdentity, metrics: GatewayMetrics, tracing: GatewayTracing?,
        logger: Logger
    ) {
        self.tls = tls
        self.tracing = tracing
        self.audit =
            configuration.audit.record == .off
            ? nil : AuditTrail(settings: .init(configuration.audit), store: vault, metrics: metrics, logger: logger)
        self.upstream = upstream
        self.metrics = metrics
        self.connections = Dictionary(
            uniqueKeysWithValues: ListenerKind.allCases.map { listener in
                let limits = configuration.limits.connections[listener] ?? ConnectionLimits()
                return (listener, ListenerConnections(listener: listener.rawValue, limits: limits, metrics: metrics))
            })
        self.configuration = configuration
        self.policies = policies
        self.webhookVerifier = webhookVerifier
        self.webhookWorker = WebhookWorker(broker: broker, oauth: oauth, appId: configuration.highlevel.appId, logger: logger)
        let replicas = ReplicaHeartbeat(identity: replica, vault: vault, logger: logger)
        self.replicas = replicas
        self.webhookDeliverer = WebhookDeliverer(
            settings: .init(
                retryDelays: configuration.webhooks.deliveryRetrySeconds, timeoutSeconds: configuration.webhooks.deliveryTimeoutSeconds,
                concurrency: configuration.webhooks.deliveryConcurrency),
            vault: vault, replicas: replicas, policies: policies, http: http, metrics: metrics, tracing: tracing, logger: logger)
        self.budget = UpstreamBudget(
            settings: .init(
                burst: configuration.highlevel.rateLimit.burst, daily: configuration.highlevel.rateLimit.daily,
                queueSeconds: configuration.upstream.queueSeconds, enforced: configuration.highlevel.rateLimit.enforce),
            replicas: replicas, metrics: metrics, logger: logger)
        self.vault = vault
        self.broker = broker
        self.oauth = oauth
        self.http = http
        self.logger = logger
    }

    /// Opens the vault (checking the encryption key) and builds the clients. Nothing listens yet.
    package static func open(_ configuration: GatewayConfiguration, logger: Logger) async throws(GatewayStartupError) -> Gateway {
        let metrics = GatewayMetrics()
        let preflight = try GatewayPreflight(configuration, metrics: metrics, logger: logger)

        let tracing: GatewayTracing?
        do {
            tracing = try configuration.telemetry.map { try GatewayTracing($0, logger: logger) }
        } catch {
            throw .telemetry("\(error)")
        }
        let replica = configuration.makeReplicaIdentity()
        let vault: any TokenVault
        do {
            vault = try await configuration.storage.openVault(logger: logger)
            for owner in try await vault.noteInterruptedRefreshes() {
                logger.warning("a refresh was interrupted by a restart; its outcome is unknown", metadata: ["owner": "\(owner)"])
            }
        } catch {
            throw .vault(error)
        }
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.timeout = .init(
            connect: .milliseconds(Int64(configuration.upstream.connectTimeoutSeconds * 1000)),
            read: .milliseconds(Int64(configuration.upstream.readTimeoutSeconds * 1000)))
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // No tracer: the default no-op one still costs attribute building on every request.
        httpConfiguration.tracing.tracer = nil
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let oauth = HighLevelOAuthClient(
            settings: .init(
                apiBaseURL: configuration.highlevel.apiBaseURL, clientId: configuration.highlevel.clientId,
                clientSecret: configuration.highlevel.clientSecret,
                timeout: .seconds(Int64(configuration.highlevel.oauthTimeoutSeconds)),
                installUserType: configuration.highlevel.installUserType),
            http: http)
        let broker = TokenBroker(
            vault: vault, client: oauth,
            settings: .init(
                refreshMargin: configuration.tokens.refreshMarginSeconds,
                cacheLifetime: .milliseconds(Int64(configuration.tokens.cacheSeconds * 1000)),
                leaseSeconds: configuration.tokens.renewalLeaseSeconds,
                leaseWait: .milliseconds(Int64(configuration.tokens.renewalLeaseSeconds * 1500))),
            logger: logger, replica: replica, observer: { kind, outcome in metrics.tokenRenewal(kind: kind, outcome: outcome) })
        let upstream: UpstreamConnectionPool
        do {
            upstream = try UpstreamConnectionPool(
                settings: .init(
                    endpoint: preflight.upstreamEndpoint, connectTimeout: .milliseconds(Int64(configuration.upstream.connectTimeoutSeconds * 1000)),
                    headTimeout: .milliseconds(Int64(configuration.upstream.timeoutSeconds * 1000)),
                    readTimeout: .milliseconds(Int64(configuration.upstream.readTimeoutSeconds * 1000))))
        } catch {
            try? await http.shutdown()
            throw .upstream("TLS for HighLevel could not be set up: \(error)")
        }
        return Gateway(
            configuration: configuration, vault: vault, broker: broker, oauth: oauth, http: http, upstream: upstream,
            policies: preflight.policies, webhookVerifier: preflight.webhookVerifier, tls: preflight.tls, replica: replica,
            metrics: metrics, tracing: tracing, logger: logger)
    }

    /// The install flow's handlers, made once per `services()`.
    func makeInstallFlow() -> InstallFlow {
        InstallFlow(
            configuration: configuration, vault: vault, oauth: oauth, broker: broker, callbackLimiter: callbackLimiter, audit: audit,
            metrics: metrics, logger: logger)
    }

    /// The proactive refresher, made once per `services()`.
    func makeRefresher() -> ProactiveRefresher {
        let tokens = configuration.tokens
        return ProactiveRefresher(
            broker: broker,
            settings: .init(
                interval: .milliseconds(Int64(tokens.refresherIntervalSeconds * 1000)), window: tokens.refresherWindowSeconds,
                jitter: tokens.refresherJitterSeconds, concurrency: tokens.refresherConcurrency),
            logger: logger)
    }

    /// The webhook receiver, made once per `services()`.
    func makeWebhookReceiver() -> WebhookReceiver {
        WebhookReceiver(
            verifier: webhookVerifier, settings: configuration.webhooks, appId: configuration.highlevel.appId,
            allowedCompanies: configuration.install.allowedCompanies, vault: vault,
            broker: broker, policies: policies, worker: webhookWorker, deliverer: webhookDeliverer, unrouted: unroutedEvents,
            audit: audit, metrics: metrics, tracing: tracing, logger: logger)
    }

    /// What the admin listener's routes use, made once per `services()`.
    func makeAdminDependencies() -> AdminDependencies {
        AdminDependencies(
            adminToken: configuration.adminToken, vault: vault, broker: broker, policies: policies, budget: budget, replicas: replicas,
            webhookDeliverer: webhookDeliverer, unroutedEvents: unroutedEvents, connections: Array(connections.values),
            listeners: listeners, databaseOutage: databaseOutage,
            readinessDatabaseGraceSeconds: configuration.readinessDatabaseGraceSeconds,
            expiringWindow: configuration.tokens.refresherWindowSeconds + configuration.tokens.refresherJitterSeconds,
            audit: audit, metrics: metrics, logger: logger)
    }

    /// The proxy's pipeline (with its clients' rate limits), made once per `services()`.
    func makeProxyPipeline() -> ProxyPipeline {
        ProxyPipeline(
            store: policies, broker: broker,
            forwarder: UpstreamForwarder(
                pool: upstream, apiVersion: configuration.highlevel.apiVersion,
                maxBodyBytes: configuration.limits.maxBodyBytes),
            limits: configuration.limits, replicas: replicas, budget: budget, metrics: metrics, tracing: tracing, audit: audit,
            logger: logger)
    }

    /// The long-running services: the three listeners, the policy watcher and the proactive refresher.
    package func services() -> [any Service] {
        let listeners = self.listeners
        let logger = self.logger
        func listener(_ name: ListenerKind, _ address: ListenAddress) -> ApplicationConfiguration {
            .init(address: .hostname(address.host, port: address.port), serverName: name == .proxy ? nil : "ghl-gateway")
        }
        func bound(_ name: ListenerKind) -> @Sendable (any Channel) async -> Void {
            { channel in await listeners.bound(name, port: channel.localAddress?.port, logger: logger) }
        }
        func server(_ name: ListenerKind, fastPath: ProxyPipeline? = nil) -> HTTPServerBuilder {
            ListenerChannel.builder(connections: connections[name]!, tls: tls[name], fastPath: fastPath)
        }
        let pipeline = makeProxyPipeline()
        let proxyApp = Application(
            responder: ProxyResponder(pipeline: pipeline), server: server(.proxy, fastPath: pipeline),
            configuration: listener(.proxy, configuration.listen.proxy), onServerRunning: bound(.proxy), logger: logger)
        let publicApp = Application(
            router: PublicListener.router(
                install: makeInstallFlow(), webhooks: makeWebhookReceiver(), clientAddressHeader: configuration.install.clientAddressHeader,
                metrics: metrics),
            server: server(.public), configuration: listener(.public, configuration.listen.public), onServerRunning: bound(.public),
            logger: logger)
        let adminApp = Application(
            router: AdminListener.router(dependencies: makeAdminDependencies()), server: server(.admin),
            configuration: listener(.admin, configuration.listen.admin), onServerRunning: bound(.admin), logger: logger)
        let watcher = PolicyWatcher(
            store: policies, interval: .milliseconds(Int64(configuration.policyPollSeconds * 1000)), audit: audit, logger: logger)
        // The exporter and the audit trail first: a group stops its services in reverse, so they
        // write what the others did last.
        return (tracing.map { [$0.service] } ?? []) + (audit.map { [$0] } ?? []) + [
            ListenerService(listener: .proxy, address: configuration.listen.proxy, server: proxyApp),
            ListenerService(listener: .public, address: configuration.listen.public, server: publicApp),
            ListenerService(listener: .admin, address: configuration.listen.admin, server: adminApp), watcher, makeRefresher(), webhookWorker,
            webhookDeliverer, replicas,
            VaultChangeFeed(vault: vault, broker: broker, logger: logger),
        ] + (tls.isEmpty ? [] : [TLSReloader(stores: tls, interval: .milliseconds(Int64(configuration.policyPollSeconds * 1000)), logger: logger)])
    }

    /// The listeners and the refresher under one group that shuts down gracefully on `signals`.
    package func serviceGroup(gracefulShutdownSignals signals: [UnixSignal], extra: [any Service] = []) -> ServiceGroup {
        var group = ServiceGroupConfiguration(services: extra + services(), gracefulShutdownSignals: signals, logger: logger)
        group.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.shutdownGraceSeconds * 1000))
        group.maximumCancellationDuration = .seconds(5)
        return ServiceGroup(configuration: group)
    }

    /// Runs every service until SIGTERM or SIGINT: listeners stop accepting and finish in-flight
    /// requests (up to `shutdown_grace_seconds`), the refresher and watcher stop; then the HTTP
    /// client and the database are closed.
    package func run(with extra: [any Service] = []) async throws {
        let group = serviceGroup(gracefulShutdownSignals: [.sigterm, .sigint], extra: extra)
        do {
            try await group.run()
        } catch {
            try? await close()
            throw error
        }
        try await close()
        logger.info("stopped")
    }

    /// Closes the HTTP client and the database, once no service runs.
    package func close() async throws {
        await upstream.close()
        try await http.shutdown()
        try await vault.close()
    }
}
