import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// An in-process fake of HighLevel (marketplace install screen, OAuth endpoints, API) on a real
/// socket, for tests, benchmarks and the sandbox. Marketplace and API share one base URL.
package struct HighLevelSimulator: Sendable {
    package let state: SimulatorState

    package init(configuration: SimulatorConfiguration = SimulatorConfiguration()) {
        state = SimulatorState(configuration: configuration)
    }

    /// The simulator as a service listening on `host:port` (port 0 picks a free one);
    /// `onReady` receives the bound port once the socket listens.
    package func application(
        host: String = "127.0.0.1", port: Int = 0, logger: Logger = Logger(label: "highlevel-simulator"),
        onReady: @escaping @Sendable (Int) async -> Void
    ) -> some Service {
        Application(
            responder: SimulatorResponder(state: state),
            configuration: .init(address: .hostname(host, port: port), serverName: "highlevel-simulator"),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}
