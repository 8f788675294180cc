import HighLevelSimulator
import Logging

extension HighLevelSimulator {
    /// Runs a simulator for the duration of `body`, which receives it and its base URL.
    package static func withRunning<Result: Sendable>(
        _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
        _ body: @Sendable (HighLevelSimulator, String) async throws -> Result
    ) async throws -> Result {
        let simulator = HighLevelSimulator(configuration: configuration)
        var logger = Logger(label: "highlevel-simulator")
        logger.logLevel = .warning
        return try await RunningService.with(logger: logger) { bound in
            simulator.application(logger: logger, onReady: bound)
        } _: { port in
            try await body(simulator, "http://127.0.0.1:\(port)")
        }
    }
}
