import NIOCore

/// What each connection of a listener may take (`limits:` and `limits.<listener>:` in
/// gateway.yaml). The defaults suit the internet-facing public listener.
package struct ConnectionLimits: Sendable, Equatable {
    /// From a request's first byte (or the connection's opening) to its complete head.
    package var headTimeout: TimeAmount = .seconds(10)
    /// From the end of an answer to the next request's first byte.
    package var idleTimeout: TimeAmount = .seconds(60)
    /// Each window of the client's time must bring `minBodyBytesPerSecond` × its length of body.
    package var bodyWindow: TimeAmount = .seconds(10)
    package var minBodyBytesPerSecond = 1024
    /// Open connections; over it a new connection is closed at once.
    package var maxConnections = 4096
    /// 0: no limit.
    package var maxRequestsPerConnection = 1000

    package init() {}

    /// The proxy listener's defaults: internal services keep connections for many requests.
    package static var proxyDefaults: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.maxConnections = 16_384
        limits.maxRequestsPerConnection = 0
        return limits
    }
}
