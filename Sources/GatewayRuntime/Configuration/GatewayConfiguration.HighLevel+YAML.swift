import GatewayPolicy
import TokenVault
import Yams

extension GatewayConfiguration.HighLevel {
    /// `highlevel:`: the app's credentials, HighLevel's addresses, webhook keys and budget.
    init(yaml node: Node, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        let hl = try parser.section(
            node, "highlevel",
            allowed: [
                "api_base_url", "marketplace_url", "client_id", "client_secret", "install_scopes", "api_version",
                "webhook_ed25519_public_key", "webhook_rsa_public_key", "app_id", "install_user_type", "oauth_timeout_seconds",
                "install_url_parameters", "rate_limit",
            ], required: ["client_id", "client_secret", "install_scopes"])
        let clientId = try parser.value(hl["client_id"]!, "highlevel.client_id", secret: false)
        var highlevel = GatewayConfiguration.HighLevel(
            clientId: clientId,
            clientSecret: Secret(try parser.value(hl["client_secret"]!, "highlevel.client_secret", secret: true)),
            installScopes: try parser.list(hl["install_scopes"]!, "highlevel.install_scopes"),
            appId: String(clientId.prefix { $0 != "-" }))
        if highlevel.installScopes.isEmpty { throw parser.error(hl["install_scopes"]!, "highlevel.install_scopes", "must list at least one scope") }
        if let node = hl["api_base_url"] { highlevel.apiBaseURL = try parser.url(node, "highlevel.api_base_url") }
        if let node = hl["marketplace_url"] { highlevel.marketplaceURL = try parser.url(node, "highlevel.marketplace_url") }
        if let node = hl["api_version"] {
            highlevel.apiVersion = try parser.value(node, "highlevel.api_version", secret: false)
            guard HeaderValue.isPlain(highlevel.apiVersion) else {
                throw parser.error(node, "highlevel.api_version", "must be a version such as 2021-07-28, without spaces or control characters")
            }
        }
        if let node = hl["app_id"] { highlevel.appId = try parser.value(node, "highlevel.app_id", secret: false) }
        if let node = hl["install_user_type"] {
            let type = try parser.value(node, "highlevel.install_user_type", secret: false)
            guard ["Company", "Location"].contains(type) else {
                throw parser.error(node, "highlevel.install_user_type", "must be Company or Location")
            }
            highlevel.installUserType = type
        }
        if let node = hl["oauth_timeout_seconds"] {
            highlevel.oauthTimeoutSeconds = Int(try parser.number(node, "highlevel.oauth_timeout_seconds", range: 1...300))
        }
        if let node = hl["webhook_ed25519_public_key"] {
            let key = "highlevel.webhook_ed25519_public_key"
            var keys: [String] = []
            for item in node.sequence.map(Array.init) ?? [node] { keys.append(try parser.value(item, key, secret: true)) }
            if keys.isEmpty { throw parser.error(node, key, "must name at least one key (HighLevel's published key is the default)") }
            highlevel.webhookEd25519PublicKeys = keys
        }
        if let node = hl["webhook_rsa_public_key"] {
            highlevel.webhookRSAPublicKey = try parser.value(node, "highlevel.webhook_rsa_public_key", secret: true)
        }
        if let node = hl["rate_limit"] {
            let fields = try parser.section(node, "highlevel.rate_limit", allowed: ["burst", "daily", "enforce"])
            if let n = fields["burst"] {
                let text = try parser.value(n, "highlevel.rate_limit.burst", secret: false)
                guard let limit = RateLimit(parsing: text) else {
                    throw parser.error(n, "highlevel.rate_limit.burst", "'\(text)' is not N/PERIOD (e.g. 100/10s)")
                }
                highlevel.rateLimit.burst = limit
            }
            if let n = fields["daily"] { highlevel.rateLimit.daily = Int(try parser.number(n, "highlevel.rate_limit.daily", range: 1...100_000_000)) }
            if let n = fields["enforce"] {
                guard let flag = n.bool else { throw parser.error(n, "highlevel.rate_limit.enforce", "must be true or false") }
                highlevel.rateLimit.enforce = flag
            }
        }
        if let node = hl["install_url_parameters"] {
            highlevel.installURLParameters = try parser.installURLParameters(node)
        }
        self = highlevel
    }
}
