import Foundation
import ScopeCatalog
import Yams

/// Reads `clients/*.yaml` under a policies directory and validates the whole set against the
/// catalog. Any problem rejects the set: a gateway keeps serving the last valid one.
package enum PolicyLoader {
    private static let fields: Set<String> = [
        "client", "description", "key", "keys", "locations", "companies", "allow", "deny", "rate_limit", "webhooks", "upstream_share", "mcp",
    ]
    private static let webhookFields: Set<String> = ["url", "secret", "previous_secrets", "events"]
    /// App events: no scope entitles a client to them; it must name them. INSTALL and UNINSTALL
    /// are the scopes table's spellings of AppInstall and AppUninstall; HighLevel sends both.
    package static let lifecycleEvents: Set<String> = [
        "INSTALL", "UNINSTALL", "AppInstall", "AppUninstall", "AppUpdate", "AppPaymentStatus", "PlanChange",
        "ExternalAuthConnected", "SupportTicketCreate", "SupportTicketUpdate", "SupportTicketDelete",
    ]
    /// The spellings of an install and an uninstall, which the gateway acts on.
    package static let installEvents: Set<String> = ["INSTALL", "AppInstall"]
    package static let uninstallEvents: Set<String> = ["UNINSTALL", "AppUninstall"]

    /// How webhook secrets are checked: read and validated (`serve`), or by the form of their
    /// reference only (`policy check --no-secrets`, in CI without production secrets).
    package enum SecretCheck: Sendable {
        case resolve
        case formOnly
    }

    /// Files in a policies directory's `clients/` that are not loaded (not `*.yaml`/`*.yml`, such as
    /// an editor's `svc.yml.bak`), sorted; hidden files and templates (`*.example`) are not listed.
    package static func ignoredClientFiles(in directory: String) -> [String] {
        let clients = (directory.hasSuffix("/") ? directory : directory + "/") + "clients"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: clients)) ?? []
        return names.sorted().filter {
            !$0.hasPrefix(".") && !$0.hasSuffix(".yaml") && !$0.hasSuffix(".yml") && !$0.hasSuffix(".example")
        }.map { clients + "/" + $0 }
    }

    /// The client files of a policies directory, sorted, with their contents.
    package static func clientFiles(in directory: String) throws(PolicyIssue) -> [(path: String, text: String)] {
        let clients = (directory.hasSuffix("/") ? directory : directory + "/") + "clients"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: clients, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue, let names = try? FileManager.default.contentsOfDirectory(atPath: clients) else {
            throw PolicyIssue(file: clients, line: 1, message: "cannot list the directory")
        }
        var files: [(String, String)] = []
        for name in names.sorted() where (name.hasSuffix(".yaml") || name.hasSuffix(".yml")) && !name.hasPrefix(".") {
            let path = clients + "/" + name
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw PolicyIssue(file: path, line: 1, message: "cannot read the file as UTF-8 text")
            }
            files.append((path, text))
        }
        return files
    }

    /// Loads and validates the directory's client policies.
    package static func load(
        directory: String, catalog: CompiledCatalog, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(PolicyRejection) -> PolicySet {
        let files: [(path: String, text: String)]
        do { files = try clientFiles(in: directory) } catch { throw PolicyRejection(issues: [error]) }
        return try parse(files, catalog: catalog, environment: environment)
    }

    /// Validates client files already read (the reloader reads them once to fingerprint them).
    /// Webhook secrets written `env:NAME` are read from `environment`.
    package static func parse(
        _ files: [(path: String, text: String)], catalog: CompiledCatalog,
        environment: [String: String] = ProcessInfo.processInfo.environment, secrets: SecretCheck = .resolve
    ) throws(PolicyRejection) -> PolicySet {
        var issues: [PolicyIssue] = []
        var clients: [ClientPolicy] = []
        var names: [String: SourceLocation] = [:]
        var digests: [KeyDigest: SourceLocation] = [:]
        for file in files {
            var parser = ClientFileParser(file: file.path, catalog: catalog, environment: environment, secrets: secrets)
            let client = parser.parse(file.text)
            issues += parser.issues
            guard let client else { continue }
            if let first = names[client.name] {
                issues.append(
                    PolicyIssue(file: file.path, line: client.definedAt.line, message: "client '\(client.name)' is already defined at \(first)"))
            } else {
                names[client.name] = client.definedAt
            }
            for key in client.keys {
                if let first = digests[key.digest] {
                    issues.append(
                        PolicyIssue(
                            file: file.path, line: client.definedAt.line, message: "the key hash \(key.shortDigest)… is already used at \(first)"))
                } else {
                    digests[key.digest] = client.definedAt
                }
            }
            clients.append(client)
        }
        guard issues.isEmpty else { throw PolicyRejection(issues: issues) }
        return PolicySet(clients: clients)
    }

    /// One client file.
    private struct ClientFileParser {
        let file: String
        let catalog: CompiledCatalog
        let environment: [String: String]
        let secrets: SecretCheck
        private var reader = YAMLReader()
        private var ruleIssues: [PolicyIssue] = []

        init(file: String, catalog: CompiledCatalog, environment: [String: String], secrets: SecretCheck) {
            self.file = file
            self.catalog = catalog
            self.environment = environment
            self.secrets = secrets
        }

        var issues: [PolicyIssue] {
            reader.problems.map { PolicyIssue(file: file, line: $0.line, message: $0.message) } + ruleIssues
        }

        mutating func parse(_ text: String) -> ClientPolicy? {
            guard !text.allSatisfy(\.isWhitespace) else {
                ruleIssues.append(PolicyIssue(file: file, line: 1, message: "the file is empty (a client policy needs at least 'client' and 'key')"))
                return nil
            }
            guard let root = reader.document(text) else { return nil }
            guard let fields = reader.mapping(root, what: "a client policy", allowed: PolicyLoader.fields, required: ["client"]),
                let nameNode = fields["client"], let name = reader.string(nameNode, what: "'client'")
            else { return nil }
            if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) {
                reader.report(nameNode, "client name must be letters, digits, '-', '_' or '.'")
            }
            let keys = clientKeys(fields, clientNode: nameNode)
            let locations = fields["locations"].flatMap { targets($0, "locations") } ?? .only([])
            let companies = fields["companies"].flatMap { targets($0, "companies") } ?? .only([])
            let allow = fields["allow"].flatMap { rules($0, "allow") } ?? []
            let deny = fields["deny"].flatMap { rules($0, "deny") } ?? []
            var rateLimit: RateLimit?
            if let node = fields["rate_limit"], let text = reader.string(node, what: "'rate_limit'") {
                rateLimit = RateLimit(parsing: text)
                if rateLimit == nil { reader.report(node, "rate_limit '\(text)' is not N/PERIOD such as 50/10s, 600/1m or 10000/1h") }
            }
            if let description = fields["description"] { _ = reader.string(description, what: "'description'") }
            guard let keys else { return nil }
            var client = ClientPolicy(
                name: name, keys: keys, locations: locations, companies: companies, allow: allow, deny: deny,
                rateLimit: rateLimit, definedAt: SourceLocation(file: file, line: YAMLReader.line(of: nameNode)))
            if let node = fields["webhooks"] { client.webhooks = subscription(node, granted: client.grantedScopes) }
            if let node = fields["mcp"] { client.agents = agentRules(node) }
            if let node = fields["upstream_share"], let text = reader.string(node, what: "'upstream_share'") {
                if let share = Double(text), share > 0, share <= 1_000 {
                    client.upstreamShare = share
                } else {
                    reader.report(node, "upstream_share '\(text)' is not a weight above 0 (1 is the default; 2 gets twice a 1's share)")
                }
            }
            return client
        }

        /// `webhooks:`: an http(s) URL, `whsec_` secrets by reference only, event types the
        /// client's scopes entitle it to.
        private mutating func subscription(_ node: Node, granted: Set<String>) -> WebhookSubscription? {
            guard let fields = reader.mapping(node, what: "'webhooks'", allowed: PolicyLoader.webhookFields, required: ["url", "secret", "events"]),
                let urlNode = fields["url"], let urlText = reader.string(urlNode, what: "'webhooks.url'"),
                let secretNode = fields["secret"], let eventsNode = fields["events"]
            else { return nil }
            let url = URL(string: urlText)
            let validURL =
                ["http", "https"].contains(url?.scheme?.lowercased() ?? "") && url?.host != nil && url?.fragment == nil
                && url?.user == nil
            if !validURL {
                reader.report(urlNode, "webhooks.url '\(urlText)' is not an http(s) URL (no user info, no fragment)")
            }
            var secretNodes = [(secretNode, "webhooks.secret")]
            if let previous = fields["previous_secrets"] {
                if let items = previous.sequence {
                    secretNodes += items.map { ($0, "webhooks.previous_secrets") }
                } else {
                    reader.report(previous, "webhooks.previous_secrets must be a list")
                }
            }
            let secrets = secretNodes.compactMap { secret($0.0, $0.1) }
            guard let values = reader.strings(eventsNode, what: "'webhooks.events'") else { return nil }
            let events: WebhookSubscription.Events
            if values.map(\.value) == ["*"] {
                events = .all
            } else {
                for (type, line) in values {
                    ruleIssues += eventIssues(type, line: line, granted: granted)
                }
                events = .only(Set(values.map(\.value)))
            }
            guard secrets.count == secretNodes.count else { return nil }
            return WebhookSubscription(
                url: urlText, secrets: secrets, events: events, definedAt: SourceLocation(file: file, line: YAMLReader.line(of: node)))
        }

        private func eventIssues(_ type: String, line: Int, granted: Set<String>) -> [PolicyIssue] {
            if type == "*" {
                return [PolicyIssue(file: file, line: line, message: "webhooks.events is either [\"*\"] or a list of event types, not both")]
            }
            if PolicyLoader.lifecycleEvents.contains(type) { return [] }
            guard let scopes = catalog.events[type] else {
                return [
                    PolicyIssue(
                        file: file, line: line,
                        message:
                            "unknown event type '\(type)' (the scope catalog lists them: its table's Webhook Events column and catalog-overrides.yaml's events)"
                    )
                ]
            }
            guard scopes.contains(where: granted.contains) else {
                return [
                    PolicyIssue(
                        file: file, line: line,
                        message: "event '\(type)' needs one of the scopes \(scopes.sorted().joined(separator: ", ")) in 'allow'")
                ]
            }
            return []
        }

        /// What a secret checked by form only stands for: never used to sign.
        private static let standIn = WebhookSecret("whsec_" + Data(repeating: 0, count: 32).base64EncodedString())!

        /// A secret by reference (`env:NAME`, `file:/path`), never inline, that is a `whsec_` secret.
        private mutating func secret(_ node: Node, _ what: String) -> WebhookSecret? {
            guard let text = reader.string(node, what: "'\(what)'") else { return nil }
            if secrets == .formOnly {
                let name = text.hasPrefix("env:") ? text.dropFirst(4) : text.hasPrefix("file:/") ? text.dropFirst(5) : ""
                guard !name.isEmpty, !name.contains(where: \.isWhitespace) else {
                    reader.report(node, "\(what) must be written as env:NAME or file:/path, not inline")
                    return nil
                }
                return Self.standIn
            }
            let resolved: String
            do {
                guard let reference = try SecretReference.resolve(text, environment: environment) else {
                    reader.report(node, "\(what) must be written as env:NAME or file:/path, not inline")
                    return nil
                }
                resolved = reference.value.trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                reader.report(node, "\(what): \(error)")
                return nil
            }
            guard let secret = WebhookSecret(resolved) else {
                reader.report(
                    node, "\(what) is not a whsec_ secret (whsec_ and the base64 of 24 to 64 bytes; `ghl-gateway webhooks secret` makes one)")
                return nil
            }
            return secret
        }

        /// `key: sha256:...` or `keys:` (each `sha256:...`, or `{key: sha256:..., expires: DATE}`); exactly one of them.
        private mutating func clientKeys(_ fields: [String: Node], clientNode: Node) -> [ClientKey]? {
            switch (fields["key"], fields["keys"]) {
            case (nil, nil):
                reader.report(clientNode, "a client policy needs 'key' (or 'keys' while rotating)")
                return nil
            case (.some, .some(let node)):
                reader.report(node, "'key' and 'keys' cannot both be given; list every key under 'keys'")
                return nil
            case (.some(let node), nil):
                return digest(node).map { [ClientKey(digest: $0)] }
            case (nil, .some(let node)):
                guard case .sequence(let entries) = node, !entries.isEmpty else {
                    reader.report(node, "'keys' must be a list of 'sha256:...' digests, each optionally '{key: sha256:..., expires: YYYY-MM-DD}'")
                    return nil
                }
                var keys: [ClientKey] = []
                for entry in entries {
                    if case .scalar = entry {
                        if let digest = digest(entry) { keys.append(ClientKey(digest: digest)) }
                        continue
                    }
                    guard let item = reader.mapping(entry, what: "a key", allowed: ["key", "expires"], required: ["key"]),
                        let keyNode = item["key"], let digest = digest(keyNode)
                    else { continue }
                    var expires: Date?
                    if let node = item["expires"], let text = reader.string(node, what: "'expires'") {
                        expires = ClientKey.expiry(parsing: text)
                        if expires == nil { reader.report(node, "expires '\(text)' is not a date (YYYY-MM-DD) or an ISO 8601 time") }
                    }
                    keys.append(ClientKey(digest: digest, expires: expires))
                }
                return keys.count == entries.count ? keys : nil
            }
        }

        private mutating func digest(_ node: Node) -> KeyDigest? {
            guard let text = reader.string(node, what: "a key") else { return nil }
            guard let digest = KeyDigest(policyValue: text) else {
                reader.report(
                    node,
                    text.hasPrefix(KeyDigest.keyPrefix)
                        ? "this looks like a key itself; store only its 'sha256:...' line from `ghl-gateway keys new`"
                        : "key must be 'sha256:' followed by 64 hex digits")
                return nil
            }
            return digest
        }

        /// `mcp:`: `destructive` rules (whose calls need `confirm: true`, besides every DELETE) and
        /// `confirm: false` to need it for none.
        private mutating func agentRules(_ node: Node) -> AgentRules {
            var agents = AgentRules()
            guard let fields = reader.mapping(node, what: "'mcp'", allowed: ["confirm", "destructive"]) else { return agents }
            if let node = fields["confirm"], let text = reader.string(node, what: "'mcp.confirm'") {
                if let confirm = Bool(text) { agents.confirm = confirm } else { reader.report(node, "mcp.confirm is true or false") }
            }
            agents.destructive = fields["destructive"].flatMap { rules($0, "mcp.destructive") } ?? []
            return agents
        }

        private mutating func targets(_ node: Node, _ what: String) -> TargetList? {
            guard let values = reader.strings(node, what: "'\(what)'") else { return nil }
            let ids = values.map(\.value)
            if ids.contains("*") {
                if ids.count > 1 { reader.report(node, "'\(what)' is either [\"*\"] or a list of ids, not both") }
                return .all
            }
            for (id, line) in values where id.isEmpty || id.contains(where: { $0.isWhitespace || $0 == "/" }) {
                ruleIssues.append(PolicyIssue(file: file, line: line, message: "'\(id)' is not a valid id in '\(what)'"))
            }
            return .only(Set(ids))
        }

        private mutating func rules(_ node: Node, _ what: String) -> [PolicyRule]? {
            guard let values = reader.strings(node, what: "'\(what)'") else { return nil }
            var rules: [PolicyRule] = []
            for (text, line) in values {
                let here = SourceLocation(file: file, line: line)
                if let rule = rule(text, at: here) {
                    rules.append(rule)
                }
            }
            return rules
        }

        private mutating func rule(_ text: String, at here: SourceLocation) -> PolicyRule? {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else {
                guard catalog.scopes.contains(text) else {
                    ruleIssues.append(PolicyIssue(file: here.file, line: here.line, message: "unknown scope '\(text)'"))
                    return nil
                }
                return PolicyRule(subject: .scope(text), location: here)
            }
            var path = String(parts[1])
            if path.count > 1, path.hasSuffix("/") { path.removeLast() }
            guard let method = RouteMethod(rawValue: String(parts[0])), let template = try? RouteTemplate(path),
                let route = catalog.route(method: method, template: template)
            else {
                ruleIssues.append(PolicyIssue(file: here.file, line: here.line, message: "unknown route template '\(text)'"))
                return nil
            }
            return PolicyRule(subject: .route(route.key, template: "\(method.rawValue) \(route.template)"), location: here)
        }
    }
}
