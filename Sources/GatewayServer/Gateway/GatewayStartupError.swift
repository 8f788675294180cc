import GatewayRuntime
import TokenVault

/// Why the gateway did not start.
package enum GatewayStartupError: Error, CustomStringConvertible {
    case vault(VaultError)
    case policies(PolicyStoreError)
    case webhookKeys(String)
    case upstream(String)
    /// A listener's TLS files do not load (the listener names which).
    case listenerTLS(String)
    /// A listener cannot bind its address (in use, not permitted, not on this host).
    case listenerBind(listener: String, address: String, reason: String)
    /// `telemetry:` names an exporter that cannot be set up.
    case telemetry(String)

    package var description: String {
        switch self {
        case .upstream(let reason): reason
        case .vault(let error): "storage: \(error)"
        case .policies(let error): "policies: \(error)"
        case .webhookKeys(let reason): reason
        case .listenerTLS(let reason): reason
        case .listenerBind(let listener, let address, let reason): "listen.\(listener): cannot listen on \(address): \(reason)"
        case .telemetry(let reason): "telemetry: \(reason)"
        }
    }
}
