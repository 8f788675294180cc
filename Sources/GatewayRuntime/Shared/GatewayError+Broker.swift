import HighLevelOAuth

extension GatewayError {
    /// What the caller is told when no token could be had.
    package init(_ error: BrokerError) {
        self =
            switch error {
            case .notInstalled(let owner): GatewayError(.notInstalled, "\(owner) has not installed the app")
            case .needsReinstall(let owner):
                GatewayError(.notInstalled, "\(owner) must reinstall the app: HighLevel refused its refresh token")
            case .exchangeNotPermitted(let location, let company):
                GatewayError(.notInstalled, "location \(location) has no token and company \(company) cannot exchange one (no oauth.write)")
            case .unavailable(let owner, _): GatewayError(.tokenUnavailable, "no valid token for \(owner) right now; retry later")
            case .vault: GatewayError(.tokenUnavailable, "the token store is unavailable; retry later")
            }
    }
}
