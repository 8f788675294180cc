import Foundation

/// Where the forwarder connects: `highlevel.api_base_url` taken apart once at start-up.
package struct UpstreamEndpoint: Sendable, Equatable {
    let useTLS: Bool
    let host: String
    let port: Int
    /// The `Host` header: the host, with the port when it is not the scheme's default.
    let hostHeader: String
    /// A path the base URL carries (usually empty), put before every forwarded path.
    let pathPrefix: String

    /// The name TLS verifies the certificate against; nil for an IP address.
    var tlsServerName: String? {
        host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
    }

    package init?(baseURL: String) {
        guard let components = URLComponents(string: baseURL), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil
        else { return nil }
        useTLS = scheme == "https"
        let defaultPort = useTLS ? 443 : 80
        port = components.port ?? defaultPort
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let bracketed = self.host.contains(":") ? "[\(self.host)]" : self.host
        hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"
        pathPrefix = components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path
    }
}
