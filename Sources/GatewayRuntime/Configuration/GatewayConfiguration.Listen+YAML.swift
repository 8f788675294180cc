import Yams

extension GatewayConfiguration.Listen {
    /// `listen:`: each listener's address and TLS files.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var listen = GatewayConfiguration.Listen()
        if let node {
            let fields = try parser.section(node, "listen", allowed: ["proxy", "public", "admin"])
            for listener in ListenerKind.allCases {
                guard let value = fields[listener.rawValue] else { continue }
                let (address, tls) = try parser.listenerSettings(value, "listen.\(listener.rawValue)")
                switch listener {
                case .proxy: listen.proxy = address
                case .public: listen.public = address
                case .admin: listen.admin = address
                }
                listen.tls[listener] = tls
            }
        }
        self = listen
    }
}
