import Foundation
import GatewayPolicy
import Logging
import ScopeCatalog
import TokenVault
import Yams

/// `gateway.yaml` (docs/configuration.md): listeners, HighLevel app credentials, storage, admin token,
/// policies. Secrets are `env:NAME` or `file:/path`, never inline; a bad file is one error line
/// naming the key.
package struct GatewayConfiguration: Sendable {
    package struct Listen: Sendable {
        package var proxy = ListenAddress(host: "127.0.0.1", port: 8080)
        package var `public` = ListenAddress(host: "127.0.0.1", port: 8081)
        package var admin = ListenAddress(host: "127.0.0.1", port: 9090)
        /// The listeners that terminate TLS themselves.
        package var tls: [ListenerKind: ListenerTLS] = [:]
    }

    package struct HighLevel: Sendable {
        /// HighLevel's Ed25519 public key for `x-ghl-signature`, the same for every marketplace app
        /// (its Webhook Integration Guide): the default of `highlevel.webhook_ed25519_public_key`.
        package static let publishedEd25519PEM = """
            -----BEGIN PUBLIC KEY-----
            MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
            -----END PUBLIC KEY-----
            """

        package var apiBaseURL = "https://services.leadconnectorhq.com"
        package var marketplaceURL = "https://marketplace.gohighlevel.com"
        package var clientId: String
        package var clientSecret: Secret
        package var installScopes: [String]
        package var apiVersion = "2021-07-28"
        /// The part of `clientId` before the first `-` unless configured.
        package var appId: String
        package var installUserType: String?
        package var oauthTimeoutSeconds: Int = 15
        /// PEM keys that verify `x-ghl-signature`: HighLevel's published key unless configured; several
        /// during a rotation. Public keys, but read like secrets (`env:`/`file:`): PEM does not sit well inline.
        package var webhookEd25519PublicKeys = [Self.publishedEd25519PEM]
        /// PEM; only a configured key enables the legacy RSA `x-wh-signature` scheme.
        package var webhookRSAPublicKey: String?
        /// `install_url_parameters`: extra query parameters for the install link (HighLevel's version id, say).
        package var installURLParameters: [InstallURLParameter] = []
        /// HighLevel's limits per app and location (or company): `highlevel.rate_limit`.
        package var rateLimit = RateLimitBudget()
    }

    /// One extra parameter of the install link, in the configuration's order.
    package struct InstallURLParameter: Sendable, Equatable {
        /// The install link's parameters that only the gateway sets.
        static let reserved: Set<String> = ["response_type", "redirect_uri", "client_id", "scope", "state"]

        package var name: String
        package var value: String
    }

    /// `install:`: which callbacks the public listener accepts, and where a successful install leads.
    package struct Install: Sendable {
        /// Callbacks without a state (installs started in HighLevel's marketplace) are exchanged.
        package var acceptMarketplaceInstalls = true
        /// Companies whose installs are kept; nil keeps every company's.
        package var allowedCompanies: Set<String>?
        /// Callbacks without a state, per client address.
        package var callbackRateLimit = RateLimit(requests: 10, periodSeconds: 60)
        /// Where the admin's browser goes after a successful install; nil shows the built-in page.
        package var successRedirectURL: String?
        /// A header set by the proxy in front (e.g. `X-Forwarded-For`) whose last value is the client's
        /// address for the rate limit; nil uses the connection's peer address.
        package var clientAddressHeader: String?
    }

    package struct Storage: Sendable {
        /// Where the vault lives: exactly one of `storage.sqlite_path` and `storage.postgres_url`.
        package enum Database: Sendable, CustomStringConvertible {
            case sqlite(path: String)
            case postgres(PostgresURL)

            /// For logs: the path, or host, port and database (never the URL's password).
            package var description: String {
                switch self {
                case .sqlite(let path): path
                case .postgres(let url): url.description
                }
            }
        }

        package var database: Database
        package var encryptionKey: Secret
        package var previousEncryptionKeys: [Secret] = []
        package var busyTimeoutSeconds: Double = 5
        /// PostgreSQL connections at most (one of them listens for other replicas' changes).
        package var poolSize: Int = 10
        /// This replica's stable name (`storage.replica_id`); nil: the host and proxy listener.
        package var replicaId: String?
    }

    /// Who this process is on the vault: `storage.replica_id`, or `host/proxy-address`. A proxy on
    /// port 0 has no stable address, so then the name is this process's own and no restart shares it.
    package func makeReplicaIdentity() -> ReplicaIdentity {
        if let replicaId = storage.replicaId { return ReplicaIdentity(name: replicaId) }
        guard listen.proxy.port != 0 else { return .unique() }
        return ReplicaIdentity(name: "\(ProcessInfo.processInfo.hostName)/\(listen.proxy)")
    }

    package struct Tokens: Sendable {
        package var refreshMarginSeconds: Double = 300
        /// A token read from the vault is served from memory this long before the vault is read again.
        package var cacheSeconds: Double = 30
        /// How long a replica's right to renew a token lasts unless renewed (it is, every third of
        /// this, while HighLevel is called): another replica takes over this long after one died.
        package var renewalLeaseSeconds: Double = 30
        package var refresherIntervalSeconds: Double = 30
        package var refresherWindowSeconds: Double = 900
        package var refresherJitterSeconds: Double = 300
        package var refresherConcurrency: Int = 4
    }

    /// Sizes the proxy accepts and inspects.
    package struct Limits: Sendable {
        package var maxHeaderBytes = 32 * 1024
        package var maxURLBytes = 8 * 1024
        package var maxBodyBytes = 128 * 1024 * 1024
        /// JSON and form bodies up to this size are read for `locationId`/`companyId`; larger ones are refused.
        package var inspectJSONBytes = 1024 * 1024
        /// Multipart bodies up to this size are read for target-named text fields; larger ones are refused.
        package var inspectMultipartBytes = 32 * 1024 * 1024
        /// Bodies up to this size are kept so the request can be replayed after an upstream 401.
        package var replayBodyBytes = 1024 * 1024
        /// An MCP tool call's answer is given up after this long (the call itself ends within the proxy's own limits).
        package var mcpCallSeconds: Double = 30
        /// What each listener's connections may take (timeouts, caps).
        package var connections: [ListenerKind: ConnectionLimits] = [
            .proxy: .proxyDefaults, .public: ConnectionLimits(), .admin: ConnectionLimits(),
        ]

        package init() {}
    }

    /// `highlevel.rate_limit`: the budget the gateway keeps per location for HighLevel.
    package struct RateLimitBudget: Sendable {
        package var burst = RateLimit(requests: 100, periodSeconds: 10)
        package var daily = 200_000
        /// False sends everything on (for comparison; HighLevel then enforces alone).
        package var enforce = true
    }

    package struct Upstream: Sendable {
        /// How long a request may wait for its location's HighLevel budget.
        package var queueSeconds: Double = 2
        /// Until HighLevel's response head arrives (the request body is sent within it).
        package var timeoutSeconds: Double = 60
        package var connectTimeoutSeconds: Double = 5
        /// Longest silence while the response body streams.
        package var readTimeoutSeconds: Double = 60
    }

    package struct Webhooks: Sendable {
        package var maxBodyBytes = 1024 * 1024
        /// A delivery whose `timestamp` is older than this is refused.
        package var maxAgeSeconds: Double = 3_600
        /// Or more than this in the future.
        package var maxClockSkewSeconds: Double = 300
        /// How long delivery ids are remembered (at least a day).
        package var retentionHours: Double = 72
        /// Delays before each retry of a delivery to a subscriber; its length is the number of retries.
        package var deliveryRetrySeconds: [Double] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000]
        package var deliveryTimeoutSeconds: Double = 15
        package var deliveryConcurrency = 8
    }

    package struct Logging: Sendable {
        package enum Format: String, Sendable {
            case json, text
        }

        package var level: Logger.Level = .info
        package var format: Format = .json
    }

    /// `audit:`: what the audit trail keeps, and for how long.
    package struct Audit: Sendable, Equatable {
        package enum Record: String, Sendable {
            /// Every decision and admin action.
            case all
            /// Refusals and admin actions only, where the volume of allowed calls matters.
            case refusals
            /// Nothing.
            case off
        }

        package var record = Record.all
        package var retentionDays: Double = 90

        package init() {}
    }

    package var audit = Audit()

    /// `telemetry:`: where the gateway's spans go (OTLP/HTTP); none are made without it.
    package struct Telemetry: Sendable {
        /// The collector's traces URL, e.g. `http://otel-collector:4318/v1/traces`.
        package var endpoint: String
        package var serviceName = "ghl-gateway"
        /// How long finished spans wait to be sent in one batch.
        package var exportDelaySeconds: Double = 5
    }

    package var listen = Listen()
    package var logging = Logging()
    package var telemetry: Telemetry?
    /// How long in-flight requests may finish after SIGTERM/SIGINT before they are cancelled.
    package var shutdownGraceSeconds: Double = 20
    /// How long `/readyz` stays ready while the database does not answer (cached tokens serve).
    package var readinessDatabaseGraceSeconds: Double = 30
    package var webhooks = Webhooks()
    package var install = Install()
    package var limits = Limits()
    package var upstream = Upstream()
    /// How often the policies directory is checked for edits.
    package var policyPollSeconds: Double = 1
    package var publicURL: String
    package var highlevel: HighLevel
    package var storage: Storage
    package var adminToken: Secret
    package var policiesDir: String = "policies"
    /// `catalog.prefer`: which catalog source wins where the scopes table and the OpenAPI specs disagree.
    package var catalogPrefer: CatalogSource.Preference = .table
    /// `catalog.openapi_dir`: HighLevel's OpenAPI specs; `policies_dir/openapi` when unset.
    package var catalogOpenAPIDir: String?
    package var tokens = Tokens()

    /// `public_url` + `/oauth/callback`.
    package var redirectURI: String {
        (publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL) + "/oauth/callback"
    }

    package static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> GatewayConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, line: nil, key: nil, message: "cannot read the configuration file")
        }
        var parser = ConfigurationParser(file: path, environment: environment)
        return try parser.parse(text)
    }
}
