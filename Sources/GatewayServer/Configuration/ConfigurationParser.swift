import Foundation
import NIOCore
import Logging
import GatewayPolicy
import ScopeCatalog
import TokenVault
import Yams

/// Reads `gateway.yaml` into `GatewayConfiguration`, stopping at the first problem.
struct ConfigurationParser {
    let file: String
    let environment: [String: String]
    private var reader = YAMLReader()

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    mutating func parse(_ text: String) throws(ConfigurationError) -> GatewayConfiguration {
        guard let root = reader.document(text) else { throw firstProblem(key: nil) }
        let top = try section(root, "", allowed: [
            "listen", "public_url", "highlevel", "storage", "admin_token", "policies_dir", "tokens", "limits", "upstream",
            "policy_poll_seconds", "webhooks", "logging", "shutdown_grace_seconds", "catalog", "install",
            "readiness_database_grace_seconds", "telemetry",
        ], required: ["public_url", "highlevel", "storage", "admin_token"])

        var listen = GatewayConfiguration.Listen()
        if let node = top["listen"] {
            let fields = try section(node, "listen", allowed: ["proxy", "public", "admin"])
            for listener in BoundListeners.Listener.allCases {
                guard let value = fields[listener.rawValue] else { continue }
                let (address, tls) = try listenerSettings(value, "listen.\(listener.rawValue)")
                switch listener {
                case .proxy: listen.proxy = address
                case .public: listen.public = address
                case .admin: listen.admin = address
                }
                listen.tls[listener] = tls
            }
        }
        let publicURL = try url(top["public_url"]!, "public_url")

        let hl = try section(top["highlevel"]!, "highlevel", allowed: [
            "api_base_url", "marketplace_url", "client_id", "client_secret", "install_scopes", "api_version",
            "webhook_ed25519_public_key", "webhook_rsa_public_key", "app_id", "install_user_type", "oauth_timeout_seconds",
            "install_url_parameters", "rate_limit",
        ], required: ["client_id", "client_secret", "install_scopes"])
        let clientId = try value(hl["client_id"]!, "highlevel.client_id", secret: false)
        var highlevel = GatewayConfiguration.HighLevel(
            clientId: clientId,
            clientSecret: Secret(try value(hl["client_secret"]!, "highlevel.client_secret", secret: true)),
            installScopes: try list(hl["install_scopes"]!, "highlevel.install_scopes"),
            appId: String(clientId.prefix { $0 != "-" }))
        if highlevel.installScopes.isEmpty { throw error(hl["install_scopes"]!, "highlevel.install_scopes", "must list at least one scope") }
        if let node = hl["api_base_url"] { highlevel.apiBaseURL = try url(node, "highlevel.api_base_url") }
        if let node = hl["marketplace_url"] { highlevel.marketplaceURL = try url(node, "highlevel.marketplace_url") }
        if let node = hl["api_version"] {
            highlevel.apiVersion = try value(node, "highlevel.api_version", secret: false)
            guard HeaderValue.isPlain(highlevel.apiVersion) else {
                throw error(node, "highlevel.api_version", "must be a version such as 2021-07-28, without spaces or control characters")
            }
        }
        if let node = hl["app_id"] { highlevel.appId = try value(node, "highlevel.app_id", secret: false) }
        if let node = hl["install_user_type"] {
            let type = try value(node, "highlevel.install_user_type", secret: false)
            guard ["Company", "Location"].contains(type) else {
                throw error(node, "highlevel.install_user_type", "must be Company or Location")
            }
            highlevel.installUserType = type
        }
        if let node = hl["oauth_timeout_seconds"] {
            highlevel.oauthTimeoutSeconds = Int(try number(node, "highlevel.oauth_timeout_seconds", range: 1...300))
        }
        if let node = hl["webhook_ed25519_public_key"] {
            let key = "highlevel.webhook_ed25519_public_key"
            var keys: [String] = []
            for item in node.sequence.map(Array.init) ?? [node] { keys.append(try value(item, key, secret: true)) }
            if keys.isEmpty { throw error(node, key, "must name at least one key (HighLevel's published key is the default)") }
            highlevel.webhookEd25519PublicKeys = keys
        }
        if let node = hl["webhook_rsa_public_key"] {
            highlevel.webhookRSAPublicKey = try value(node, "highlevel.webhook_rsa_public_key", secret: true)
        }
        if let node = hl["rate_limit"] {
            let fields = try section(node, "highlevel.rate_limit", allowed: ["burst", "daily", "enforce"])
            if let n = fields["burst"] {
                let text = try value(n, "highlevel.rate_limit.burst", secret: false)
                guard let limit = RateLimit(parsing: text) else {
                    throw error(n, "highlevel.rate_limit.burst", "'\(text)' is not N/PERIOD (e.g. 100/10s)")
                }
                highlevel.rateLimit.burst = limit
            }
            if let n = fields["daily"] { highlevel.rateLimit.daily = Int(try number(n, "highlevel.rate_limit.daily", range: 1...100_000_000)) }
            if let n = fields["enforce"] {
                guard let flag = n.bool else { throw error(n, "highlevel.rate_limit.enforce", "must be true or false") }
                highlevel.rateLimit.enforce = flag
            }
        }
        if let node = hl["install_url_parameters"] {
            highlevel.installURLParameters = try installURLParameters(node)
        }

        let st = try section(top["storage"]!, "storage", allowed: [
            "sqlite_path", "postgres_url", "pool_size", "encryption_key", "previous_encryption_keys", "busy_timeout_seconds",
            "replica_id",
        ], required: ["encryption_key"])
        let database: GatewayConfiguration.Storage.Database
        switch (st["sqlite_path"], st["postgres_url"]) {
        case (let path?, nil):
            database = .sqlite(path: try value(path, "storage.sqlite_path", secret: false))
        case (nil, let url?):
            let text = try value(url, "storage.postgres_url", secret: true)
            do {
                database = .postgres(try PostgresURL(text))
            } catch let invalid {
                throw error(url, "storage.postgres_url", invalid.description)
            }
        case (_?, let url?):
            throw error(url, "storage", "give sqlite_path or postgres_url, not both")
        case (nil, nil):
            throw error(top["storage"]!, "storage", "missing sqlite_path or postgres_url")
        }
        var storage = GatewayConfiguration.Storage(
            database: database, encryptionKey: Secret(try value(st["encryption_key"]!, "storage.encryption_key", secret: true)))
        try checkKey(storage.encryptionKey, st["encryption_key"]!, "storage.encryption_key")
        if let node = st["previous_encryption_keys"] {
            guard let items = node.sequence else { throw error(node, "storage.previous_encryption_keys", "must be a list") }
            for item in items {
                let key = Secret(try value(item, "storage.previous_encryption_keys", secret: true))
                try checkKey(key, item, "storage.previous_encryption_keys")
                storage.previousEncryptionKeys.append(key)
            }
        }
        if let node = st["busy_timeout_seconds"] {
            storage.busyTimeoutSeconds = try number(node, "storage.busy_timeout_seconds", range: 0...600)
        }
        if let node = st["pool_size"] {
            storage.poolSize = Int(try number(node, "storage.pool_size", range: 2...200))
        }
        if let node = st["replica_id"] {
            storage.replicaId = try replicaId(try value(node, "storage.replica_id", secret: false), node, "storage.replica_id")
        }
        if let name = environment["GHL_GATEWAY_REPLICA_ID"] {
            storage.replicaId = try replicaId(name, top["storage"]!, "GHL_GATEWAY_REPLICA_ID")
        }

        var tokens = GatewayConfiguration.Tokens()
        if let node = top["tokens"] {
            let fields = try section(node, "tokens", allowed: [
                "refresh_margin_seconds", "cache_seconds", "refresher_interval_seconds", "refresher_window_seconds",
                "refresher_jitter_seconds", "refresher_concurrency", "renewal_lease_seconds",
            ])
            if let n = fields["cache_seconds"] { tokens.cacheSeconds = try number(n, "tokens.cache_seconds", range: 0...3_600) }
            if let n = fields["refresh_margin_seconds"] { tokens.refreshMarginSeconds = try number(n, "tokens.refresh_margin_seconds", range: 0...86_400) }
            if let n = fields["refresher_interval_seconds"] { tokens.refresherIntervalSeconds = try number(n, "tokens.refresher_interval_seconds", range: 1...3_600) }
            if let n = fields["refresher_window_seconds"] { tokens.refresherWindowSeconds = try number(n, "tokens.refresher_window_seconds", range: 0...86_400) }
            if let n = fields["refresher_jitter_seconds"] { tokens.refresherJitterSeconds = try number(n, "tokens.refresher_jitter_seconds", range: 0...86_400) }
            if let n = fields["refresher_concurrency"] { tokens.refresherConcurrency = Int(try number(n, "tokens.refresher_concurrency", range: 1...64)) }
            if let n = fields["renewal_lease_seconds"] { tokens.renewalLeaseSeconds = try number(n, "tokens.renewal_lease_seconds", range: 1...600) }
        }

        var limits = GatewayConfiguration.Limits()
        if let node = top["limits"] {
            let listenerNames = Set(BoundListeners.Listener.allCases.map(\.rawValue))
            let fields = try section(node, "limits", allowed: Self.connectionLimitKeys.union(listenerNames).union([
                "max_header_bytes", "max_url_bytes", "max_body_bytes", "inspect_json_bytes", "inspect_multipart_bytes", "replay_body_bytes",
            ]))
            let bytes = 1.0...Double(1 << 40)
            if let n = fields["max_header_bytes"] { limits.maxHeaderBytes = Int(try number(n, "limits.max_header_bytes", range: bytes)) }
            if let n = fields["max_url_bytes"] { limits.maxURLBytes = Int(try number(n, "limits.max_url_bytes", range: bytes)) }
            if let n = fields["max_body_bytes"] { limits.maxBodyBytes = Int(try number(n, "limits.max_body_bytes", range: bytes)) }
            if let n = fields["inspect_json_bytes"] { limits.inspectJSONBytes = Int(try number(n, "limits.inspect_json_bytes", range: bytes)) }
            if let n = fields["inspect_multipart_bytes"] {
                limits.inspectMultipartBytes = Int(try number(n, "limits.inspect_multipart_bytes", range: bytes))
            }
            if let n = fields["replay_body_bytes"] { limits.replayBodyBytes = Int(try number(n, "limits.replay_body_bytes", range: 0...Double(1 << 30))) }
            for listener in BoundListeners.Listener.allCases {
                var connection = limits.connections[listener] ?? ConnectionLimits()
                try connectionLimits(fields, "limits", into: &connection)
                if let node = fields[listener.rawValue] {
                    let key = "limits.\(listener.rawValue)"
                    try connectionLimits(try section(node, key, allowed: Self.connectionLimitKeys), key, into: &connection)
                }
                limits.connections[listener] = connection
            }
        }
        var upstream = GatewayConfiguration.Upstream()
        if let node = top["upstream"] {
            let fields = try section(
                node, "upstream", allowed: ["timeout_seconds", "connect_timeout_seconds", "read_timeout_seconds", "queue_seconds"])
            if let n = fields["queue_seconds"] { upstream.queueSeconds = try number(n, "upstream.queue_seconds", range: 0...60) }
            if let n = fields["timeout_seconds"] { upstream.timeoutSeconds = try number(n, "upstream.timeout_seconds", range: 0.01...3_600) }
            if let n = fields["connect_timeout_seconds"] { upstream.connectTimeoutSeconds = try number(n, "upstream.connect_timeout_seconds", range: 0.01...300) }
            if let n = fields["read_timeout_seconds"] { upstream.readTimeoutSeconds = try number(n, "upstream.read_timeout_seconds", range: 0.01...3_600) }
        }

        var webhooks = GatewayConfiguration.Webhooks()
        if let node = top["webhooks"] {
            let fields = try section(node, "webhooks", allowed: [
                "max_body_bytes", "max_age_seconds", "max_clock_skew_seconds", "retention_hours", "delivery_retry_seconds",
                "delivery_timeout_seconds", "delivery_concurrency",
            ])
            if let n = fields["delivery_retry_seconds"] {
                guard let items = n.sequence else { throw error(n, "webhooks.delivery_retry_seconds", "must be a list of seconds") }
                var delays: [Double] = []
                for item in items { delays.append(try number(item, "webhooks.delivery_retry_seconds", range: 0.01...604_800)) }
                webhooks.deliveryRetrySeconds = delays
            }
            if let n = fields["delivery_timeout_seconds"] { webhooks.deliveryTimeoutSeconds = try number(n, "webhooks.delivery_timeout_seconds", range: 0.1...600) }
            if let n = fields["delivery_concurrency"] { webhooks.deliveryConcurrency = Int(try number(n, "webhooks.delivery_concurrency", range: 1...256)) }
            if let n = fields["max_body_bytes"] { webhooks.maxBodyBytes = Int(try number(n, "webhooks.max_body_bytes", range: 1...Double(1 << 30))) }
            if let n = fields["max_age_seconds"] { webhooks.maxAgeSeconds = try number(n, "webhooks.max_age_seconds", range: 1...604_800) }
            if let n = fields["max_clock_skew_seconds"] { webhooks.maxClockSkewSeconds = try number(n, "webhooks.max_clock_skew_seconds", range: 0...86_400) }
            if let n = fields["retention_hours"] { webhooks.retentionHours = try number(n, "webhooks.retention_hours", range: 24...8_760) }
        }

        var install = GatewayConfiguration.Install()
        if let node = top["install"] {
            let fields = try section(node, "install", allowed: [
                "accept_marketplace_installs", "allowed_companies", "callback_rate_limit", "success_redirect_url",
                "client_address_header",
            ])
            if let n = fields["accept_marketplace_installs"] {
                install.acceptMarketplaceInstalls = try bool(n, "install.accept_marketplace_installs")
            }
            if let n = fields["allowed_companies"] {
                let companies = try list(n, "install.allowed_companies")
                if companies.isEmpty { throw error(n, "install.allowed_companies", "must list at least one company id (leave it out to allow any)") }
                install.allowedCompanies = Set(companies)
            }
            if let n = fields["callback_rate_limit"] {
                let text = try value(n, "install.callback_rate_limit", secret: false)
                guard let limit = RateLimit(parsing: text) else {
                    throw error(n, "install.callback_rate_limit", "'\(text)' is not N/PERIOD (e.g. 10/60s, 30/1m)")
                }
                install.callbackRateLimit = limit
            }
            if let n = fields["success_redirect_url"] {
                install.successRedirectURL = try url(n, "install.success_redirect_url", allowQuery: true)
            }
            if let n = fields["client_address_header"] {
                let name = try value(n, "install.client_address_header", secret: false)
                guard name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                    throw error(n, "install.client_address_header", "'\(name)' is not an HTTP header name")
                }
                install.clientAddressHeader = name
            }
        }

        var configuration = GatewayConfiguration(
            listen: listen, webhooks: webhooks, install: install, limits: limits, upstream: upstream, publicURL: publicURL, highlevel: highlevel, storage: storage,
            adminToken: Secret(try value(top["admin_token"]!, "admin_token", secret: true)), tokens: tokens)
        if let node = top["logging"] {
            let fields = try section(node, "logging", allowed: ["level", "format"])
            if let n = fields["level"] {
                let text = try value(n, "logging.level", secret: false)
                guard let level = Logger.Level(rawValue: text) else {
                    throw error(n, "logging.level", "must be one of trace, debug, info, notice, warning, error, critical")
                }
                configuration.logging.level = level
            }
            if let n = fields["format"] {
                let text = try value(n, "logging.format", secret: false)
                guard let format = GatewayConfiguration.Logging.Format(rawValue: text) else {
                    throw error(n, "logging.format", "must be json or text")
                }
                configuration.logging.format = format
            }
        }
        if let node = top["telemetry"] {
            let fields = try section(
                node, "telemetry", allowed: ["otlp_endpoint", "service_name", "export_delay_seconds"],
                required: ["otlp_endpoint"])
            var telemetry = GatewayConfiguration.Telemetry(endpoint: try url(fields["otlp_endpoint"]!, "telemetry.otlp_endpoint"))
            if let n = fields["service_name"] { telemetry.serviceName = try value(n, "telemetry.service_name", secret: false) }
            if let n = fields["export_delay_seconds"] {
                telemetry.exportDelaySeconds = try number(n, "telemetry.export_delay_seconds", range: 0.01...60)
            }
            configuration.telemetry = telemetry
        }
        if let node = top["readiness_database_grace_seconds"] {
            configuration.readinessDatabaseGraceSeconds = try number(node, "readiness_database_grace_seconds", range: 0...3_600)
        }
        if let node = top["shutdown_grace_seconds"] {
            configuration.shutdownGraceSeconds = try number(node, "shutdown_grace_seconds", range: 0...3_600)
        }
        if let node = top["policy_poll_seconds"] {
            configuration.policyPollSeconds = try number(node, "policy_poll_seconds", range: 0.05...3_600)
        }
        if configuration.adminToken.revealed.count < 16 {
            throw error(top["admin_token"]!, "admin_token", "must be at least 16 characters")
        }
        if let node = top["policies_dir"] { configuration.policiesDir = try value(node, "policies_dir", secret: false) }
        if let node = top["catalog"] {
            let fields = try section(node, "catalog", allowed: ["prefer", "openapi_dir"])
            if let n = fields["openapi_dir"] { configuration.catalogOpenAPIDir = try value(n, "catalog.openapi_dir", secret: false) }
            if let n = fields["prefer"] {
                let text = try value(n, "catalog.prefer", secret: false)
                guard let prefer = CatalogSource.Preference(rawValue: text) else { throw error(n, "catalog.prefer", "must be table or openapi") }
                configuration.catalogPrefer = prefer
            }
        }
        return configuration
    }

    // MARK: Values

    static let connectionLimitKeys: Set<String> = [
        "head_timeout_seconds", "idle_timeout_seconds", "body_timeout_seconds", "min_body_bytes_per_second", "max_connections",
        "max_requests_per_connection",
    ]

    /// The connection limits among `fields` (under `key`), over those already in `limits`.
    private func connectionLimits(_ fields: [String: Node], _ key: String, into limits: inout ConnectionLimits) throws(ConfigurationError) {
        func seconds(_ name: String) throws(ConfigurationError) -> TimeAmount? {
            guard let node = fields[name] else { return nil }
            return .nanoseconds(Int64(try number(node, "\(key).\(name)", range: 0.01...86_400) * 1e9))
        }
        if let value = try seconds("head_timeout_seconds") { limits.headTimeout = value }
        if let value = try seconds("idle_timeout_seconds") { limits.idleTimeout = value }
        if let value = try seconds("body_timeout_seconds") { limits.bodyWindow = value }
        if let n = fields["min_body_bytes_per_second"] {
            limits.minBodyBytesPerSecond = Int(try number(n, "\(key).min_body_bytes_per_second", range: 0...Double(1 << 30)))
        }
        if let n = fields["max_connections"] { limits.maxConnections = Int(try number(n, "\(key).max_connections", range: 1...1_000_000)) }
        if let n = fields["max_requests_per_connection"] {
            limits.maxRequestsPerConnection = Int(try number(n, "\(key).max_requests_per_connection", range: 0...1e12))
        }
    }

    private mutating func section(
        _ node: Node, _ key: String, allowed: Set<String>, required: Set<String> = []
    ) throws(ConfigurationError) -> [String: Node] {
        guard let fields = reader.mapping(node, what: key.isEmpty ? "the configuration" : "'\(key)'", allowed: allowed, required: required),
            reader.problems.isEmpty
        else { throw firstProblem(key: key.isEmpty ? nil : key) }
        return fields
    }

    /// A replica's name, as `ReplicaIdentity` needs it.
    private func replicaId(_ name: String, _ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard !name.isEmpty, name.count <= 200, !name.contains("@"),
            name.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline })
        else {
            throw error(node, key, "must be 1 to 200 printable ASCII characters without spaces or '@'")
        }
        return name
    }

    /// A scalar; for secrets only `env:NAME` or `file:/path`, resolved here.
    private func value(_ node: Node, _ key: String, secret: Bool) throws(ConfigurationError) -> String {
        guard let text = node.scalar?.string, !text.isEmpty else { throw error(node, key, "must be a non-empty value") }
        let reference: (value: String, file: String?)?
        do {
            reference = try SecretReference.resolve(text, environment: environment)
        } catch let failure {
            throw error(node, key, failure.description)
        }
        if let (content, file) = reference {
            guard let path = file else { return content }
            let trimmed = secret && !content.contains("-----BEGIN") ? content.trimmingCharacters(in: .whitespacesAndNewlines) : content
            guard !trimmed.isEmpty else { throw error(node, key, "\(path) is empty") }
            return trimmed
        }
        if secret { throw error(node, key, "a secret must be written as env:NAME or file:/path, not inline") }
        return text
    }

    private func list(_ node: Node, _ key: String) throws(ConfigurationError) -> [String] {
        guard let items = node.sequence else { throw error(node, key, "must be a list") }
        var values: [String] = []
        for item in items { values.append(try value(item, key, secret: false)) }
        return values
    }

    /// `HOST:PORT`, or `{address: HOST:PORT, tls: {certificate, private_key, client_ca}}`.
    private mutating func listenerSettings(_ node: Node, _ key: String) throws(ConfigurationError) -> (ListenAddress, ListenerTLS?) {
        guard case .mapping = node else { return (try address(node, key), nil) }
        let fields = try section(node, key, allowed: ["address", "tls"], required: ["address"])
        let address = try address(fields["address"]!, "\(key).address")
        guard let tlsNode = fields["tls"] else { return (address, nil) }
        let tls = try section(tlsNode, "\(key).tls", allowed: ["certificate", "private_key", "client_ca"], required: ["certificate", "private_key"])
        func file(_ name: String) throws(ConfigurationError) -> String? {
            guard let node = tls[name] else { return nil }
            guard let text = node.scalar?.string, text.hasPrefix("file:"), text.count > 5 else {
                throw error(node, "\(key).tls.\(name)", "must be file:/path (the file is re-read when it changes)")
            }
            let path = String(text.dropFirst(5))
            guard FileManager.default.isReadableFile(atPath: path) else { throw error(node, "\(key).tls.\(name)", "cannot read \(path)") }
            return path
        }
        return (address, ListenerTLS(certificateFile: try file("certificate")!, privateKeyFile: try file("private_key")!, clientCAFile: try file("client_ca")))
    }

    private func address(_ node: Node, _ key: String) throws(ConfigurationError) -> ListenAddress {
        let text = try value(node, key, secret: false)
        guard let address = ListenAddress(parsing: text) else {
            throw error(node, key, "'\(text)' is not HOST:PORT with a port from 0 to 65535")
        }
        return address
    }

    private func url(_ node: Node, _ key: String, allowQuery: Bool = false) throws(ConfigurationError) -> String {
        let text = try value(node, key, secret: false)
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
            allowQuery || url.query == nil, url.fragment == nil
        else { throw error(node, key, "'\(text)' is not an http(s) URL") }
        return text.hasSuffix("/") && url.query == nil ? String(text.dropLast()) : text
    }

    private func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool {
        switch node.scalar?.string {
        case "true": true
        case "false": false
        default: throw error(node, key, "must be true or false")
        }
    }

    /// A mapping of names to values; the install link's own parameters cannot be replaced.
    private func installURLParameters(_ node: Node) throws(ConfigurationError) -> [GatewayConfiguration.InstallURLParameter] {
        let key = "highlevel.install_url_parameters"
        guard let mapping = node.mapping else { throw error(node, key, "must be a mapping of parameter names to values") }
        var parameters: [GatewayConfiguration.InstallURLParameter] = []
        for (nameNode, valueNode) in mapping {
            let name = try value(nameNode, key, secret: false)
            guard !InstallFlow.ownParameters.contains(name) else {
                throw error(nameNode, key, "'\(name)' is set by the gateway itself")
            }
            parameters.append(.init(name: name, value: try value(valueNode, "\(key).\(name)", secret: false)))
        }
        return parameters
    }

    private func number(_ node: Node, _ key: String, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let text = node.scalar?.string, let number = Double(text), range.contains(number) else {
            throw error(node, key, "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private func checkKey(_ key: Secret, _ node: Node, _ name: String) throws(ConfigurationError) {
        do {
            _ = try EncryptionKeyring(currentBase64: key.revealed)
        } catch {
            throw self.error(node, name, error.description)
        }
    }

    /// An error at `node`. Where the node names its value by reference (`env:`, `file:`), a value
    /// the message quotes is shown as the reference, never as what it resolved to: it may be a secret.
    private func error(_ node: Node, _ key: String, _ message: String) -> ConfigurationError {
        var message = message
        if let text = node.scalar?.string, let resolved = try? SecretReference.resolve(text, environment: environment) {
            for shown in Set([resolved.value, resolved.value.trimmingCharacters(in: .whitespacesAndNewlines)]) where !shown.isEmpty {
                message = message.replacingOccurrences(of: "'\(shown)'", with: "'\(text)'")
            }
        }
        return ConfigurationError(file: file, line: YAMLReader.line(of: node), key: key, message: message)
    }

    private func firstProblem(key: String?) -> ConfigurationError {
        let problem = reader.problems.first
        return ConfigurationError(file: file, line: problem?.line, key: key, message: problem?.message ?? "invalid configuration")
    }
}
