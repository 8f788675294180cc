import Foundation
import GatewayPolicy
import GatewayRuntime
import GatewayServer
import GatewayTestSupport
import Testing

@Suite("Gateway configuration")
struct GatewayConfigurationTests {
    let directory = TemporaryDirectory()

    private func config(
        clientSecret: String? = nil, key: String? = nil, listen: String = "", extra: String = "", admin: String? = nil,
        database: String = "sqlite_path: /tmp/g.sqlite"
    ) -> String {
        let secret = clientSecret ?? "file:\(directory.write("secret", "s3cret-value\n"))"
        let keyValue = key ?? "file:\(directory.write("key", Data(repeating: 9, count: 32).base64EncodedString()))"
        let adminValue = admin ?? "file:\(directory.write("admin", "admin-token-0123456789"))"
        return directory.write(
            "gateway.yaml",
            """
            \(listen)public_url: https://gateway.example.com/
            highlevel:
              client_id: 65f0abc-xyz
              client_secret: \(secret)
              install_scopes: [contacts.readonly]
            storage:
              \(database)
              encryption_key: \(keyValue)
            admin_token: \(adminValue)
            \(extra)
            """)
    }

    private func failure(_ path: String, environment: [String: String] = [:]) -> String {
        do {
            _ = try GatewayConfiguration.load(path: path, environment: environment)
            return "loaded"
        } catch {
            return error.description
        }
    }

    @Test func aMinimalFileLoadsWithDefaults() throws {
        let configuration = try GatewayConfiguration.load(path: config(), environment: [:])
        #expect(configuration.listen.proxy.description == "127.0.0.1:8080")
        #expect(configuration.listen.public.description == "127.0.0.1:8081")
        #expect(configuration.listen.admin.description == "127.0.0.1:9090")
        #expect(configuration.redirectURI == "https://gateway.example.com/oauth/callback")
        #expect(configuration.highlevel.apiBaseURL == "https://services.leadconnectorhq.com")
        #expect(configuration.highlevel.apiVersion == "2021-07-28")
        #expect(configuration.highlevel.appId == "65f0abc")
        #expect(configuration.highlevel.clientSecret.revealed == "s3cret-value")
        #expect(configuration.policiesDir == "policies")
        #expect(configuration.catalogPrefer == .table)
    }

    @Test func theAPIVersionMustBeAPlainHeaderValue() throws {
        let path = config()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let version = "  install_scopes: [contacts.readonly]\n  api_version: \"2021-07-28\\r\\nX-Injected: 1\"\n"
        try text.replacingOccurrences(of: "  install_scopes: [contacts.readonly]\n", with: version).write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(failure(path).contains("highlevel.api_version"))
        #expect(failure(path).contains("without spaces or control characters"))
    }

    @Test func aValueGivenByReferenceIsQuotedAsTheReference() throws {
        let path = config(listen: "listen:\n  proxy: env:PROXY_ADDRESS\n")
        let message = failure(path, environment: ["PROXY_ADDRESS": "s3cret-not-an-address"])
        #expect(message.contains("listen.proxy: 'env:PROXY_ADDRESS' is not HOST:PORT"), "\(message)")
        #expect(!message.contains("s3cret"))
    }

    @Test func connectionLimitsApplyToEveryListenerUnlessOneOverridesThem() throws {
        let defaults = try GatewayConfiguration.load(path: config(), environment: [:]).limits.connections
        #expect(defaults[.public] == ConnectionLimits())
        #expect(defaults[.proxy]?.maxRequestsPerConnection == 0)
        let set = try GatewayConfiguration.load(
            path: config(
                extra: """
                    limits:
                      head_timeout_seconds: 5
                      max_connections: 100
                      proxy:
                        idle_timeout_seconds: 300
                        max_connections: 1000
                    """), environment: [:]
        ).limits.connections
        #expect(set[.public]?.headTimeout == .seconds(5))
        #expect(set[.admin]?.maxConnections == 100)
        #expect(set[.proxy]?.headTimeout == .seconds(5))
        #expect(set[.proxy]?.idleTimeout == .seconds(300))
        #expect(set[.proxy]?.maxConnections == 1000)
        #expect(set[.public]?.idleTimeout == .seconds(60))
        #expect(failure(config(extra: "limits:\n  public:\n    max_connections: 0\n")).contains("limits.public.max_connections"))
        #expect(failure(config(extra: "limits:\n  admin:\n    max_body_bytes: 5\n")).contains("limits.admin"))
    }

    @Test func aListenerMayTakeTLSFiles() throws {
        let certificate = directory.write("cert.pem", "x")
        let key = directory.write("key.pem", "x")
        let configuration = try GatewayConfiguration.load(
            path: config(
                listen: """
                    listen:
                      proxy: {address: 0.0.0.0:8443, tls: {certificate: file:\(certificate), private_key: file:\(key), client_ca: file:\(certificate)}}
                      admin: 127.0.0.1:9091

                    """), environment: [:])
        #expect(configuration.listen.proxy.description == "0.0.0.0:8443")
        #expect(configuration.listen.tls[.proxy] == ListenerTLS(certificateFile: certificate, privateKeyFile: key, clientCAFile: certificate))
        #expect(configuration.listen.tls[.admin] == nil)
        #expect(
            failure(config(listen: "listen:\n  public: {address: 127.0.0.1:1, tls: {certificate: env:CERT, private_key: file:\(key)}}\n"))
                .contains("listen.public.tls.certificate: must be file:/path"))
        #expect(
            failure(config(listen: "listen:\n  public: {address: 127.0.0.1:1, tls: {certificate: file:/nope.pem, private_key: file:\(key)}}\n"))
                .contains("cannot read /nope.pem"))
    }

    @Test func catalogPreferIsTableOrOpenAPI() throws {
        let openapi = try GatewayConfiguration.load(path: config(extra: "catalog:\n  prefer: openapi\n"), environment: [:])
        #expect(openapi.catalogPrefer == .openapi)
        let path = config(extra: "catalog:\n  prefer: spec\n")
        #expect(failure(path) == "\(path):11: catalog.prefer: must be table or openapi")
    }

    @Test func telemetryIsOffUnlessAnEndpointIsGiven() throws {
        #expect(try GatewayConfiguration.load(path: config(), environment: [:]).telemetry == nil)
        let on = try GatewayConfiguration.load(
            path: config(extra: "telemetry:\n  otlp_endpoint: http://collector:4318/v1/traces\n  export_delay_seconds: 0.5\n"), environment: [:])
        #expect(on.telemetry?.endpoint == "http://collector:4318/v1/traces")
        #expect(on.telemetry?.serviceName == "ghl-gateway" && on.telemetry?.exportDelaySeconds == 0.5)
        let missing = config(extra: "telemetry:\n  service_name: gw\n")
        #expect(failure(missing).hasSuffix("'telemetry' is missing 'otlp_endpoint'"), "\(failure(missing))")
        let grpc = config(extra: "telemetry:\n  otlp_endpoint: grpc://collector:4317\n")
        #expect(failure(grpc) == "\(grpc):11: telemetry.otlp_endpoint: 'grpc://collector:4317' is not an http(s) URL")
        let json = config(extra: "telemetry:\n  otlp_endpoint: http://c:4318/v1/traces\n  otlp_protocol: http/json\n")
        #expect(failure(json).contains("unknown field 'otlp_protocol'"), "\(failure(json))")
    }

    @Test func installSettingsHaveDefaultsAndAreChecked() throws {
        let defaults = try GatewayConfiguration.load(path: config(), environment: [:])
        #expect(defaults.install.acceptMarketplaceInstalls)
        #expect(defaults.install.allowedCompanies == nil)
        #expect(defaults.install.callbackRateLimit.requests == 10 && defaults.install.callbackRateLimit.periodSeconds == 60)
        #expect(defaults.install.successRedirectURL == nil)
        #expect(defaults.highlevel.installURLParameters.isEmpty)

        let set = try GatewayConfiguration.load(
            path: config(
                extra: """
                    install:
                      accept_marketplace_installs: false
                      allowed_companies: [cmpA, cmpB]
                      callback_rate_limit: 5/1m
                      success_redirect_url: https://intranet.example.com/done?x=1
                    """), environment: [:])
        #expect(!set.install.acceptMarketplaceInstalls)
        #expect(set.install.allowedCompanies == ["cmpA", "cmpB"])
        #expect(set.install.callbackRateLimit.requests == 5 && set.install.callbackRateLimit.periodSeconds == 60)
        #expect(set.install.successRedirectURL == "https://intranet.example.com/done?x=1")

        let cases = [
            ("install:\n  accept_marketplace_installs: maybe", "install.accept_marketplace_installs: must be true or false"),
            ("install:\n  allowed_companies: []", "install.allowed_companies: must list at least one company id"),
            ("install:\n  callback_rate_limit: fast", "install.callback_rate_limit: 'fast' is not N/PERIOD"),
            ("install:\n  success_redirect_url: javascript:alert(1)", "install.success_redirect_url: 'javascript:alert(1)' is not an http(s) URL"),
            ("install:\n  allow_everyone: true", "allow_everyone"),
        ]
        for (extra, message) in cases {
            #expect(failure(config(extra: extra)).contains(message), "\(extra)")
        }
    }

    @Test func installURLParametersCannotReplaceTheGatewaysOwn() throws {
        let path = directory.write(
            "params.yaml",
            """
            public_url: https://gateway.example.com
            highlevel:
              client_id: 65f0abc-xyz
              client_secret: file:\(directory.write("secret", "s3cret-value"))
              install_scopes: [contacts.readonly]
              install_url_parameters:
                version_id: v1
                state: mine
            storage:
              sqlite_path: /tmp/g.sqlite
              encryption_key: file:\(directory.write("key", Data(repeating: 9, count: 32).base64EncodedString()))
            admin_token: file:\(directory.write("admin", "admin-token-0123456789"))
            """)
        #expect(failure(path) == "\(path):8: highlevel.install_url_parameters: 'state' is set by the gateway itself")
    }

    @Test func webhookKeysDefaultToHighLevelsPublishedKeyAndTakeAList() throws {
        let defaults = try GatewayConfiguration.load(path: config(), environment: [:])
        #expect(defaults.highlevel.webhookEd25519PublicKeys == [GatewayConfiguration.HighLevel.publishedEd25519PEM])
        #expect(defaults.highlevel.webhookRSAPublicKey == nil)
        let signer = WebhookSigner.shared
        let old = directory.write("old.pem", GatewayConfiguration.HighLevel.publishedEd25519PEM)
        let new = directory.write("new.pem", signer.ed25519PublicPEM)
        let path = config(extra: "")
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
            of: "  install_scopes: [contacts.readonly]",
            with: "  install_scopes: [contacts.readonly]\n  webhook_ed25519_public_key: [file:\(old), file:\(new)]")
        let rotated = try GatewayConfiguration.load(path: directory.write("rotated.yaml", text), environment: [:])
        #expect(rotated.highlevel.webhookEd25519PublicKeys == [GatewayConfiguration.HighLevel.publishedEd25519PEM, signer.ed25519PublicPEM])
        let inline = text.replacingOccurrences(of: "[file:\(old), file:\(new)]", with: "[MCowBQYDK2VwAyEA]")
        #expect(failure(directory.write("inline.yaml", inline)).contains("a secret must be written as env:NAME or file:/path"))
    }

    @Test func secretsComeFromTheEnvironment() throws {
        let path = config(clientSecret: "env:GHL_CLIENT_SECRET")
        let configuration = try GatewayConfiguration.load(path: path, environment: ["GHL_CLIENT_SECRET": "from-env"])
        #expect(configuration.highlevel.clientSecret.revealed == "from-env")
        #expect(failure(path) == "\(path):4: highlevel.client_secret: environment variable GHL_CLIENT_SECRET is not set")
    }

    @Test func highLevelsBudgetHasItsDefaultsAndIsChecked() throws {
        let defaults = try GatewayConfiguration.load(path: config(), environment: [:])
        #expect(defaults.highlevel.rateLimit.burst == RateLimit(requests: 100, periodSeconds: 10))
        #expect(defaults.highlevel.rateLimit.daily == 200_000)
        #expect(defaults.highlevel.rateLimit.enforce)
        #expect(defaults.upstream.queueSeconds == 2)
        let set = try GatewayConfiguration.load(
            path: config(extra: "upstream: {queue_seconds: 0.5}"), environment: [:])
        #expect(set.upstream.queueSeconds == 0.5)
        let path = directory.write(
            "budget.yaml",
            """
            public_url: https://gateway.example.com/
            highlevel:
              client_id: 65f0abc-xyz
              client_secret: file:\(directory.write("secret", "s3cret-value"))
              install_scopes: [contacts.readonly]
              rate_limit: {burst: 50/5s, daily: 1000, enforce: false}
            storage:
              sqlite_path: /tmp/g.sqlite
              encryption_key: file:\(directory.write("key", Data(repeating: 9, count: 32).base64EncodedString()))
            admin_token: file:\(directory.write("admin", "admin-token-0123456789"))
            """)
        let budget = try GatewayConfiguration.load(path: path, environment: [:]).highlevel.rateLimit
        #expect(budget.burst == RateLimit(requests: 50, periodSeconds: 5))
        #expect(budget.daily == 1_000)
        #expect(!budget.enforce)
        let bad = directory.write(
            "bad-budget.yaml",
            try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "burst: 50/5s", with: "burst: lots"))
        #expect(failure(bad) == "\(bad):6: highlevel.rate_limit.burst: 'lots' is not N/PERIOD (e.g. 100/10s)")
    }

    @Test func storageIsSQLiteOrPostgreSQL() throws {
        let url = "postgres://gateway:pa55word@db.internal:5433/ghl?sslmode=require"
        let postgres = try GatewayConfiguration.load(
            path: config(database: "postgres_url: env:PG_URL\n  pool_size: 4"), environment: ["PG_URL": url])
        #expect("\(postgres.storage.database)" == "postgres://db.internal:5433/ghl")
        #expect(postgres.storage.poolSize == 4)
        #expect(try GatewayConfiguration.load(path: config(), environment: [:]).storage.poolSize == 10)

        let inline = config(database: "postgres_url: \(url)")
        #expect(failure(inline) == "\(inline):7: storage.postgres_url: a secret must be written as env:NAME or file:/path, not inline")
        #expect(!failure(inline).contains("pa55word"))
        let bad = config(database: "postgres_url: env:PG_URL")
        #expect(
            failure(bad, environment: ["PG_URL": "postgres://gateway:pa55word@db/ghl?sslmode=maybe"])
                == "\(bad):7: storage.postgres_url: sslmode must be disable, require or verify-full")
        let both = config(database: "sqlite_path: /tmp/x.sqlite\n  postgres_url: env:PG_URL")
        #expect(failure(both, environment: ["PG_URL": url]) == "\(both):8: storage: give sqlite_path or postgres_url, not both")
        let neither = config(database: "busy_timeout_seconds: 5")
        #expect(failure(neither).hasSuffix("storage: missing sqlite_path or postgres_url"))
    }

    @Test func aReplicaIsNamedByItsConfigurationOrItsHostAndProxyListener() throws {
        let named = try GatewayConfiguration.load(
            path: config(database: "sqlite_path: /tmp/g.sqlite\n  replica_id: env:POD"), environment: ["POD": "gateway-7"])
        #expect(named.makeReplicaIdentity().name == "gateway-7")
        #expect(named.makeReplicaIdentity().incarnation != named.makeReplicaIdentity().incarnation)
        let fixed = try GatewayConfiguration.load(path: config(listen: "listen: {proxy: \"0.0.0.0:8080\"}\n"), environment: [:])
        #expect(fixed.makeReplicaIdentity().name == "\(ProcessInfo.processInfo.hostName)/0.0.0.0:8080")
        let bad = config(database: "sqlite_path: /tmp/g.sqlite\n  replica_id: gw@1")
        #expect(failure(bad).hasSuffix("storage.replica_id: must be 1 to 200 printable ASCII characters without spaces or '@'"))
        // The environment names the replica over the file (a restarted container keeps its name).
        let overridden = try GatewayConfiguration.load(
            path: config(database: "sqlite_path: /tmp/g.sqlite\n  replica_id: gw-1"), environment: ["GHL_GATEWAY_REPLICA_ID": "gw-2"])
        #expect(overridden.makeReplicaIdentity().name == "gw-2")
    }

    @Test func inlineSecretsAreRefused() {
        let path = config(clientSecret: "plain-text-secret")
        #expect(failure(path) == "\(path):4: highlevel.client_secret: a secret must be written as env:NAME or file:/path, not inline")
        #expect(!failure(path).contains("plain-text-secret"))
    }

    @Test func missingKeysAreNamed() {
        let path = directory.write("partial.yaml", "public_url: https://g.example.com\nadmin_token: env:X\n")
        #expect(failure(path) == "\(path):1: the configuration is missing 'highlevel'")
        let noStorage = directory.write(
            "nostorage.yaml",
            """
            public_url: https://g.example.com
            admin_token: env:X
            highlevel:
              client_id: a-b
              client_secret: env:Y
              install_scopes: [contacts.readonly]
            """)
        #expect(failure(noStorage).hasSuffix("is missing 'storage'"))
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:99999", "localhost:http", ":8080", "[::1]8080"])
    func badAddressesAreNamed(address: String) {
        let path = config(listen: "listen:\n  proxy: \"\(address)\"\n")
        #expect(failure(path) == "\(path):2: listen.proxy: '\(address)' is not HOST:PORT with a port from 0 to 65535")
    }

    @Test func ipv6AddressesParse() throws {
        let configuration = try GatewayConfiguration.load(path: config(listen: "listen:\n  admin: \"[::1]:9999\"\n"), environment: [:])
        #expect(configuration.listen.admin.host == "::1")
        #expect(configuration.listen.admin.port == 9999)
    }

    @Test func aKeyOfTheWrongLengthIsNamed() {
        let short = "file:\(directory.write("short", Data(repeating: 1, count: 16).base64EncodedString()))"
        let path = config(key: short)
        #expect(failure(path) == "\(path):8: storage.encryption_key: invalid encryption key: 16 bytes, expected 32 (AES-256)")
    }

    @Test func unknownFieldsAreErrors() {
        let path = config(extra: "admin_tokens: env:X\n")
        #expect(failure(path).contains("unknown field 'admin_tokens'"))
    }

    @Test func aShortAdminTokenIsRefused() {
        let path = config(admin: "file:\(directory.write("weak", "short"))")
        #expect(failure(path).hasSuffix("admin_token: must be at least 16 characters"))
    }

    @Test func anUnreadableFileIsOneLine() {
        #expect(failure("/nonexistent/gateway.yaml") == "/nonexistent/gateway.yaml: cannot read the configuration file")
    }
}
