import GatewayPolicy
import Yams

extension GatewayConfiguration.Install {
    /// `install:`: which installs are accepted, and how callbacks are limited.
    init(yaml node: Node?, _ parser: inout ConfigurationParser) throws(ConfigurationError) {
        var install = GatewayConfiguration.Install()
        if let node {
            let fields = try parser.section(
                node, "install",
                allowed: [
                    "accept_marketplace_installs", "allowed_companies", "callback_rate_limit", "success_redirect_url",
                    "client_address_header",
                ])
            if let n = fields["accept_marketplace_installs"] {
                install.acceptMarketplaceInstalls = try parser.bool(n, "install.accept_marketplace_installs")
            }
            if let n = fields["allowed_companies"] {
                let companies = try parser.list(n, "install.allowed_companies")
                if companies.isEmpty {
                    throw parser.error(n, "install.allowed_companies", "must list at least one company id (leave it out to allow any)")
                }
                install.allowedCompanies = Set(companies)
            }
            if let n = fields["callback_rate_limit"] {
                let text = try parser.value(n, "install.callback_rate_limit", secret: false)
                guard let limit = RateLimit(parsing: text) else {
                    throw parser.error(n, "install.callback_rate_limit", "'\(text)' is not N/PERIOD (e.g. 10/60s, 30/1m)")
                }
                install.callbackRateLimit = limit
            }
            if let n = fields["success_redirect_url"] {
                install.successRedirectURL = try parser.url(n, "install.success_redirect_url", allowQuery: true)
            }
            if let n = fields["client_address_header"] {
                let name = try parser.value(n, "install.client_address_header", secret: false)
                guard name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
                    throw parser.error(n, "install.client_address_header", "'\(name)' is not an HTTP header name")
                }
                install.clientAddressHeader = name
            }
        }
        self = install
    }
}
