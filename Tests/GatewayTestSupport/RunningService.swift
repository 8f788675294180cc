import Logging
import ServiceLifecycle

/// Runs a listening service (the simulator, a webhook subscriber) for the duration of `body`,
/// which gets the port it bound, then shuts it down gracefully, also when `body` throws.
package enum RunningService {
    package static func with<Result: Sendable>(
        logger: Logger,
        _ make: (_ bound: @escaping @Sendable (Int) async -> Void) -> any Service,
        _ body: @Sendable (Int) async throws -> Result
    ) async throws -> Result {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let group = ServiceGroup(services: [make { continuation.yield($0) }], logger: logger)
        return try await withThrowingTaskGroup(of: Result?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            do {
                let result = try await body(port)
                await group.triggerGracefulShutdown()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
