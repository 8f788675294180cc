import GatewaySandbox

/// A port on 127.0.0.1 that takes connections (into the kernel's backlog) and never answers: a
/// dead service, for timeouts and isolation. Closed by `close()`.
package struct SilentListener: Sendable {
    private let socket: LoopbackSocket

    package var port: Int { socket.port }

    package init() throws {
        socket = try LoopbackSocket(listening: true)
    }

    package func close() { socket.close() }
}
