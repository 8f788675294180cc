import Foundation
import GatewayRuntime
import Logging

/// What `serve` checks before it touches the database or a port: the policies and their catalog,
/// HighLevel's webhook keys, each listener's TLS files and HighLevel's URL. `Gateway.open` starts
/// from it; `ghl-gateway config check` runs it alone, with no side effect, and adds the warnings
/// of things `serve` accepts but an operator should look at.
package struct GatewayPreflight {
    package let policies: PolicyStore
    let webhookVerifier: WebhookVerifier
    let tls: [ListenerKind: TLSContextStore]
    let upstreamEndpoint: UpstreamEndpoint

    package init(_ configuration: GatewayConfiguration, metrics: GatewayMetrics, logger: Logger) throws(GatewayStartupError) {
        do {
            policies = try PolicyStore(
                directory: configuration.policiesDir, openAPIDirectory: configuration.catalogOpenAPIDir, prefer: configuration.catalogPrefer,
                logger: logger
            ) { outcome in
                metrics.policyReload(outcome.rawValue)
            }
        } catch {
            throw .policies(error)
        }
        do {
            webhookVerifier = try WebhookVerifier(
                ed25519PEMs: configuration.highlevel.webhookEd25519PublicKeys, rsaPEM: configuration.highlevel.webhookRSAPublicKey)
        } catch {
            throw .webhookKeys(error.description)
        }
        var tls: [ListenerKind: TLSContextStore] = [:]
        for (listener, settings) in configuration.listen.tls {
            do {
                tls[listener] = try TLSContextStore(settings)
            } catch {
                throw .listenerTLS("listen.\(listener.rawValue).tls: \(error)")
            }
        }
        self.tls = tls
        guard let endpoint = UpstreamEndpoint(baseURL: configuration.highlevel.apiBaseURL) else {
            throw .upstream("highlevel.api_base_url is not an http(s) URL with a host")
        }
        upstreamEndpoint = endpoint
    }

    /// What `serve` accepts but is likely a mistake: install scopes the catalog does not know,
    /// values left as the examples have them, client policies rejected or none at all.
    package func warnings(_ configuration: GatewayConfiguration) -> [String] {
        var warnings: [String] = []
        let snapshot = policies.snapshot
        let known = Set(snapshot.catalog.scopes)
        let unknown = configuration.highlevel.installScopes.filter { !known.contains($0) }
        if !unknown.isEmpty {
            warnings.append(
                "highlevel.install_scopes: the catalog knows no scope \(unknown.joined(separator: ", ")); HighLevel refuses an install that asks for it"
            )
        }
        if let host = URL(string: configuration.publicURL)?.host, Self.placeholderHosts.contains(where: host.hasSuffix) {
            warnings.append("public_url: \(configuration.publicURL) is the example's; HighLevel redirects installs there")
        }
        if let rejected = policies.status.rejectedIssues.first {
            warnings.append("client policies rejected (every call is denied until fixed): \(rejected)")
        } else if snapshot.policies.clients.isEmpty {
            warnings.append("no client policy in \(configuration.policiesDir)/clients: every call is denied")
        }
        return warnings
    }

    /// Hosts that only examples use (RFC 2606).
    private static let placeholderHosts = ["example.com", "example.org", "example.net", ".example", ".test", ".invalid"]
}
