import Foundation

/// Runs `body`, failing the test if it has not finished within `limit`.
package func withTimeout(_ limit: Duration, _ body: @escaping @Sendable () async -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { throw TimedOut(limit: limit) }
    }
}

/// A wait that did not end in time.
package struct TimedOut: Error, CustomStringConvertible {
    package var limit: Duration
    package var description: String { "timed out after \(limit)" }
}
