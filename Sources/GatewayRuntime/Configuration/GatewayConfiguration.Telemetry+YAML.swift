import Yams

extension GatewayConfiguration.Telemetry {
    /// `telemetry:`: where spans are exported.
    init(yaml node: Node, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        let fields = try parser.section(
            node, "telemetry", allowed: ["otlp_endpoint", "service_name", "export_delay_seconds"],
            required: ["otlp_endpoint"])
        var telemetry = GatewayConfiguration.Telemetry(endpoint: try parser.url(fields["otlp_endpoint"]!, "telemetry.otlp_endpoint"))
        if let n = fields["service_name"] { telemetry.serviceName = try parser.value(n, "telemetry.service_name", secret: false) }
        if let n = fields["export_delay_seconds"] {
            telemetry.exportDelaySeconds = try parser.number(n, "telemetry.export_delay_seconds", range: 0.01...60)
        }
        self = telemetry
    }
}
