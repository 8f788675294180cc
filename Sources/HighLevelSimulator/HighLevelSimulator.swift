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

    /// Runs a simulator for the duration of `body`, which receives it and its base URL, then shuts
    /// it down gracefully.
    package static func withRunning<Result: Sendable>(
        _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
        _ body: @Sendable (HighLevelSimulator, String) async throws -> Result
    ) async throws -> Result {
        let simulator = HighLevelSimulator(configuration: configuration)
        let logger = {
            var logger = Logger(label: "highlevel-simulator")
            logger.logLevel = .warning
            return logger
        }()
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(
            services: [simulator.application(logger: logger) { continuation.yield($0) }], logger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                let result = try await body(simulator, "http://127.0.0.1:\(port)")
                await group.triggerGracefulShutdown()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
