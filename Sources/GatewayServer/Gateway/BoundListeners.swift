import GatewayRuntime
import Logging

/// The ports the listeners bound, for tests, the sandbox and readiness.
package actor BoundListeners {
    private var ports: [ListenerKind: Int] = [:]
    private var waiters: [ListenerKind: [CheckedContinuation<Int, Never>]] = [:]

    func bound(_ listener: ListenerKind, port: Int?, logger: Logger) {
        guard let port else { return }
        logger.notice("listening", metadata: ["listener": "\(listener.rawValue)", "port": "\(port)"])
        ports[listener] = port
        for waiter in waiters.removeValue(forKey: listener) ?? [] { waiter.resume(returning: port) }
    }

    /// The bound port, waiting until the listener is up.
    package func port(_ listener: ListenerKind) async -> Int {
        if let port = ports[listener] { return port }
        return await withCheckedContinuation { waiters[listener, default: []].append($0) }
    }

    package var all: [ListenerKind: Int] { ports }
}
