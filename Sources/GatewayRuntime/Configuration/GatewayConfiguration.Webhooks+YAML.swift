import Yams

extension GatewayConfiguration.Webhooks {
    /// `webhooks:`: sizes and windows of HighLevel's events, and the fan-out's schedule.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var webhooks = GatewayConfiguration.Webhooks()
        if let node {
            let fields = try parser.section(
                node, "webhooks",
                allowed: [
                    "max_body_bytes", "max_age_seconds", "max_clock_skew_seconds", "retention_hours", "delivery_retry_seconds",
                    "delivery_timeout_seconds", "delivery_concurrency",
                ])
            if let n = fields["delivery_retry_seconds"] {
                guard let items = n.sequence else { throw parser.error(n, "webhooks.delivery_retry_seconds", "must be a list of seconds") }
                var delays: [Double] = []
                for item in items { delays.append(try parser.number(item, "webhooks.delivery_retry_seconds", range: 0.01...604_800)) }
                webhooks.deliveryRetrySeconds = delays
            }
            if let n = fields["delivery_timeout_seconds"] {
                webhooks.deliveryTimeoutSeconds = try parser.number(n, "webhooks.delivery_timeout_seconds", range: 0.1...600)
            }
            if let n = fields["delivery_concurrency"] {
                webhooks.deliveryConcurrency = Int(try parser.number(n, "webhooks.delivery_concurrency", range: 1...256))
            }
            if let n = fields["max_body_bytes"] {
                webhooks.maxBodyBytes = Int(try parser.number(n, "webhooks.max_body_bytes", range: 1...Double(1 << 30)))
            }
            if let n = fields["max_age_seconds"] { webhooks.maxAgeSeconds = try parser.number(n, "webhooks.max_age_seconds", range: 1...604_800) }
            if let n = fields["max_clock_skew_seconds"] {
                webhooks.maxClockSkewSeconds = try parser.number(n, "webhooks.max_clock_skew_seconds", range: 0...86_400)
            }
            if let n = fields["retention_hours"] { webhooks.retentionHours = try parser.number(n, "webhooks.retention_hours", range: 24...8_760) }
        }
        self = webhooks
    }
}
