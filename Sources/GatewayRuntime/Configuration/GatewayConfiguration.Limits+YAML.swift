import Yams

extension GatewayConfiguration.Limits {
    /// `limits:`: sizes, and connection limits for every listener or one.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var limits = GatewayConfiguration.Limits()
        if let node {
            let listenerNames = Set(ListenerKind.allCases.map(\.rawValue))
            let fields = try parser.section(
                node, "limits",
                allowed: ConfigurationParser.connectionLimitKeys.union(listenerNames).union([
                    "max_header_bytes", "max_url_bytes", "max_body_bytes", "inspect_json_bytes", "inspect_multipart_bytes", "replay_body_bytes",
                    "mcp_call_seconds",
                ]))
            let bytes = 1.0...Double(1 << 40)
            if let n = fields["max_header_bytes"] { limits.maxHeaderBytes = Int(try parser.number(n, "limits.max_header_bytes", range: bytes)) }
            if let n = fields["max_url_bytes"] { limits.maxURLBytes = Int(try parser.number(n, "limits.max_url_bytes", range: bytes)) }
            if let n = fields["max_body_bytes"] { limits.maxBodyBytes = Int(try parser.number(n, "limits.max_body_bytes", range: bytes)) }
            if let n = fields["inspect_json_bytes"] { limits.inspectJSONBytes = Int(try parser.number(n, "limits.inspect_json_bytes", range: bytes)) }
            if let n = fields["inspect_multipart_bytes"] {
                limits.inspectMultipartBytes = Int(try parser.number(n, "limits.inspect_multipart_bytes", range: bytes))
            }
            if let n = fields["replay_body_bytes"] {
                limits.replayBodyBytes = Int(try parser.number(n, "limits.replay_body_bytes", range: 0...Double(1 << 30)))
            }
            if let n = fields["mcp_call_seconds"] { limits.mcpCallSeconds = try parser.number(n, "limits.mcp_call_seconds", range: 0.1...3600) }
            for listener in ListenerKind.allCases {
                var connection = limits.connections[listener] ?? ConnectionLimits()
                try parser.connectionLimits(fields, "limits", into: &connection)
                if let node = fields[listener.rawValue] {
                    let key = "limits.\(listener.rawValue)"
                    try parser.connectionLimits(
                        try parser.section(node, key, allowed: ConfigurationParser.connectionLimitKeys), key, into: &connection)
                }
                limits.connections[listener] = connection
            }
        }
        self = limits
    }
}
