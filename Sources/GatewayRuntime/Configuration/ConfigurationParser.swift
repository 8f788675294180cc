import Foundation
import GatewayPolicy
import Logging
import NIOCore
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
        let top = try section(
            root, "",
            allowed: [
                "listen", "public_url", "highlevel", "storage", "admin_token", "policies_dir", "tokens", "limits", "upstream",
                "policy_poll_seconds", "webhooks", "logging", "shutdown_grace_seconds", "catalog", "install",
                "readiness_database_grace_seconds", "telemetry", "audit",
            ], required: ["public_url", "highlevel", "storage", "admin_token"])

        let listen = try GatewayConfiguration.Listen(yaml: top["listen"], &self)
        let publicURL = try url(top["public_url"]!, "public_url")
        let highlevel = try GatewayConfiguration.HighLevel(yaml: top["highlevel"]!, &self)
        let storage = try GatewayConfiguration.Storage(yaml: top["storage"]!, &self)
        let tokens = try GatewayConfiguration.Tokens(yaml: top["tokens"], &self)
        let limits = try GatewayConfiguration.Limits(yaml: top["limits"], &self)
        let upstream = try GatewayConfiguration.Upstream(yaml: top["upstream"], &self)
        let webhooks = try GatewayConfiguration.Webhooks(yaml: top["webhooks"], &self)
        let install = try GatewayConfiguration.Install(yaml: top["install"], &self)
        var configuration = GatewayConfiguration(
            listen: listen, webhooks: webhooks, install: install, limits: limits, upstream: upstream, publicURL: publicURL, highlevel: highlevel,
            storage: storage,
            adminToken: Secret(try value(top["admin_token"]!, "admin_token", secret: true)), tokens: tokens)
        configuration.logging = try GatewayConfiguration.Logging(yaml: top["logging"], &self)
        if let node = top["telemetry"] { configuration.telemetry = try GatewayConfiguration.Telemetry(yaml: node, &self) }
        if let node = top["audit"] { configuration.audit = try GatewayConfiguration.Audit(yaml: node, &self) }
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
    func connectionLimits(_ fields: [String: Node], _ key: String, into limits: inout ConnectionLimits) throws(ConfigurationError) {
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

    mutating func section(
        _ node: Node, _ key: String, allowed: Set<String>, required: Set<String> = []
    ) throws(ConfigurationError) -> [String: Node] {
        guard let fields = reader.mapping(node, what: key.isEmpty ? "the configuration" : "'\(key)'", allowed: allowed, required: required),
            reader.problems.isEmpty
        else { throw firstProblem(key: key.isEmpty ? nil : key) }
        return fields
    }

    /// A replica's name, as `ReplicaIdentity` needs it.
    func replicaId(_ name: String, _ node: Node, _ key: String) throws(ConfigurationError) -> String {
        guard !name.isEmpty, name.count <= 200, !name.contains("@"),
            name.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline })
        else {
            throw error(node, key, "must be 1 to 200 printable ASCII characters without spaces or '@'")
        }
        return name
    }

    /// A scalar; for secrets only `env:NAME` or `file:/path`, resolved here.
    func value(_ node: Node, _ key: String, secret: Bool) throws(ConfigurationError) -> String {
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

    func list(_ node: Node, _ key: String) throws(ConfigurationError) -> [String] {
        guard let items = node.sequence else { throw error(node, key, "must be a list") }
        var values: [String] = []
        for item in items { values.append(try value(item, key, secret: false)) }
        return values
    }

    /// `HOST:PORT`, or `{address: HOST:PORT, tls: {certificate, private_key, client_ca}}`.
    mutating func listenerSettings(_ node: Node, _ key: String) throws(ConfigurationError) -> (ListenAddress, ListenerTLS?) {
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
        return (
            address,
            ListenerTLS(certificateFile: try file("certificate")!, privateKeyFile: try file("private_key")!, clientCAFile: try file("client_ca"))
        )
    }

    func address(_ node: Node, _ key: String) throws(ConfigurationError) -> ListenAddress {
        let text = try value(node, key, secret: false)
        guard let address = ListenAddress(parsing: text) else {
            throw error(node, key, "'\(text)' is not HOST:PORT with a port from 0 to 65535")
        }
        return address
    }

    func url(_ node: Node, _ key: String, allowQuery: Bool = false) throws(ConfigurationError) -> String {
        let text = try value(node, key, secret: false)
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
            allowQuery || url.query == nil, url.fragment == nil
        else { throw error(node, key, "'\(text)' is not an http(s) URL") }
        return text.hasSuffix("/") && url.query == nil ? String(text.dropLast()) : text
    }

    func bool(_ node: Node, _ key: String) throws(ConfigurationError) -> Bool {
        switch node.scalar?.string {
        case "true": true
        case "false": false
        default: throw error(node, key, "must be true or false")
        }
    }

    /// A mapping of names to values; the install link's own parameters cannot be replaced.
    func installURLParameters(_ node: Node) throws(ConfigurationError) -> [GatewayConfiguration.InstallURLParameter] {
        let key = "highlevel.install_url_parameters"
        guard let mapping = node.mapping else { throw error(node, key, "must be a mapping of parameter names to values") }
        var parameters: [GatewayConfiguration.InstallURLParameter] = []
        for (nameNode, valueNode) in mapping {
            let name = try value(nameNode, key, secret: false)
            guard !GatewayConfiguration.InstallURLParameter.reserved.contains(name) else {
                throw error(nameNode, key, "'\(name)' is set by the gateway itself")
            }
            parameters.append(.init(name: name, value: try value(valueNode, "\(key).\(name)", secret: false)))
        }
        return parameters
    }

    func number(_ node: Node, _ key: String, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let text = node.scalar?.string, let number = Double(text), range.contains(number) else {
            throw error(node, key, "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func checkKey(_ key: Secret, _ node: Node, _ name: String) throws(ConfigurationError) {
        do {
            _ = try EncryptionKeyring(currentBase64: key.revealed)
        } catch {
            throw self.error(node, name, error.description)
        }
    }

    /// An error at `node`. Where the node names its value by reference (`env:`, `file:`), a value
    /// the message quotes is shown as the reference, never as what it resolved to: it may be a secret.
    func error(_ node: Node, _ key: String, _ message: String) -> ConfigurationError {
        var message = message
        if let text = node.scalar?.string, let resolved = try? SecretReference.resolve(text, environment: environment) {
            for shown in Set([resolved.value, resolved.value.trimmingCharacters(in: .whitespacesAndNewlines)]) where !shown.isEmpty {
                message = message.replacingOccurrences(of: "'\(shown)'", with: "'\(text)'")
            }
        }
        return ConfigurationError(file: file, line: YAMLReader.line(of: node), key: key, message: message)
    }

    func firstProblem(key: String?) -> ConfigurationError {
        let problem = reader.problems.first
        return ConfigurationError(file: file, line: problem?.line, key: key, message: problem?.message ?? "invalid configuration")
    }
}
