import Logging
import Yams

extension GatewayConfiguration.Logging {
    /// `logging:`: level and format.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var logging = GatewayConfiguration.Logging()
        if let node {
            let fields = try parser.section(node, "logging", allowed: ["level", "format"])
            if let n = fields["level"] {
                let text = try parser.value(n, "logging.level", secret: false)
                guard let level = Logger.Level(rawValue: text) else {
                    throw parser.error(n, "logging.level", "must be one of trace, debug, info, notice, warning, error, critical")
                }
                logging.level = level
            }
            if let n = fields["format"] {
                let text = try parser.value(n, "logging.format", secret: false)
                guard let format = GatewayConfiguration.Logging.Format(rawValue: text) else {
                    throw parser.error(n, "logging.format", "must be json or text")
                }
                logging.format = format
            }
        }
        self = logging
    }
}
