import Synchronization

/// The open connections of one listener and its `ConnectionLimits`: a connection over
/// `maxConnections` is closed as soon as it is accepted, so one client cannot hold every file
/// descriptor the process has. An atomic, not an actor: it is counted on every accept, on the
/// event loop, where an `await` is not possible.
package final class ListenerConnections: Sendable {
    enum Closed: String {
        case overCapacity = "over_capacity"
    }

    let listener: String
    let limits: ConnectionLimits
    private let metrics: GatewayMetrics
    private let count = Atomic<Int>(0)

    package init(listener: String, limits: ConnectionLimits, metrics: GatewayMetrics) {
        self.listener = listener
        self.limits = limits
        self.metrics = metrics
    }

    var open: Int { count.load(ordering: .relaxed) }

    /// Counts a new connection; false (and counted as refused) when the listener is full.
    package func admit() -> Bool {
        guard count.add(1, ordering: .relaxed).newValue <= limits.maxConnections else {
            count.subtract(1, ordering: .relaxed)
            metrics.connectionClosed(listener: listener, reason: Closed.overCapacity.rawValue)
            return false
        }
        return true
    }

    package func release() {
        count.subtract(1, ordering: .relaxed)
    }

    func closed(_ reason: ConnectionGuardStateMachine.CloseReason) {
        metrics.connectionClosed(listener: listener, reason: reason.rawValue)
    }
}
