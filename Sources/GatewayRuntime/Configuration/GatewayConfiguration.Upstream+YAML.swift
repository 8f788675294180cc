import Yams

extension GatewayConfiguration.Upstream {
    /// `upstream:`: timeouts and the budget queue's wait.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var upstream = GatewayConfiguration.Upstream()
        if let node {
            let fields = try parser.section(
                node, "upstream", allowed: ["timeout_seconds", "connect_timeout_seconds", "read_timeout_seconds", "queue_seconds"])
            if let n = fields["queue_seconds"] { upstream.queueSeconds = try parser.number(n, "upstream.queue_seconds", range: 0...60) }
            if let n = fields["timeout_seconds"] { upstream.timeoutSeconds = try parser.number(n, "upstream.timeout_seconds", range: 0.01...3_600) }
            if let n = fields["connect_timeout_seconds"] {
                upstream.connectTimeoutSeconds = try parser.number(n, "upstream.connect_timeout_seconds", range: 0.01...300)
            }
            if let n = fields["read_timeout_seconds"] {
                upstream.readTimeoutSeconds = try parser.number(n, "upstream.read_timeout_seconds", range: 0.01...3_600)
            }
        }
        self = upstream
    }
}
