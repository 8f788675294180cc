import Yams

extension GatewayConfiguration.Audit {
    /// `audit:`: `record` (all, refusals or off) and `retention_days`.
    init(yaml node: Node, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        let fields = try parser.section(node, "audit", allowed: ["record", "retention_days"])
        var audit = GatewayConfiguration.Audit()
        if let n = fields["record"] {
            let text = try parser.value(n, "audit.record", secret: false)
            guard let record = Record(rawValue: text) else { throw parser.error(n, "audit.record", "must be all, refusals or off") }
            audit.record = record
        }
        if let n = fields["retention_days"] { audit.retentionDays = try parser.number(n, "audit.retention_days", range: 1...36_500) }
        self = audit
    }
}
