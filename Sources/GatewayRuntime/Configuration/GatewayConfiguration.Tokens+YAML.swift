import Yams

extension GatewayConfiguration.Tokens {
    /// `tokens:`: renewal margins, the cache, the proactive refresher and renewal leases.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var tokens = GatewayConfiguration.Tokens()
        if let node {
            let fields = try parser.section(
                node, "tokens",
                allowed: [
                    "refresh_margin_seconds", "cache_seconds", "refresher_interval_seconds", "refresher_window_seconds",
                    "refresher_jitter_seconds", "refresher_concurrency", "renewal_lease_seconds",
                ])
            if let n = fields["cache_seconds"] { tokens.cacheSeconds = try parser.number(n, "tokens.cache_seconds", range: 0...3_600) }
            if let n = fields["refresh_margin_seconds"] {
                tokens.refreshMarginSeconds = try parser.number(n, "tokens.refresh_margin_seconds", range: 0...86_400)
            }
            if let n = fields["refresher_interval_seconds"] {
                tokens.refresherIntervalSeconds = try parser.number(n, "tokens.refresher_interval_seconds", range: 1...3_600)
            }
            if let n = fields["refresher_window_seconds"] {
                tokens.refresherWindowSeconds = try parser.number(n, "tokens.refresher_window_seconds", range: 0...86_400)
            }
            if let n = fields["refresher_jitter_seconds"] {
                tokens.refresherJitterSeconds = try parser.number(n, "tokens.refresher_jitter_seconds", range: 0...86_400)
            }
            if let n = fields["refresher_concurrency"] {
                tokens.refresherConcurrency = Int(try parser.number(n, "tokens.refresher_concurrency", range: 1...64))
            }
            if let n = fields["renewal_lease_seconds"] {
                tokens.renewalLeaseSeconds = try parser.number(n, "tokens.renewal_lease_seconds", range: 1...600)
            }
        }
        self = tokens
    }
}
