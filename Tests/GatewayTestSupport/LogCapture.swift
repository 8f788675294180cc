import Logging
import Synchronization

/// A log handler that keeps every line (message and metadata) in memory, so a test can search a
/// whole run's logs for secrets, and wait for a line that says something happened.
package final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    private let appended = ChangeCounter()

    package init() {}

    package var text: String { lines.withLock { $0.joined(separator: "\n") } }

    package func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { label in Handler(capture: self, label: label) }
        logger.logLevel = level
        return logger
    }

    /// Lines whose message is one of `messages`.
    package func count(_ messages: Set<String>) -> Int {
        lines.withLock { lines in lines.filter { line in messages.contains { line.contains(": \($0) ") } }.count }
    }

    /// Returns once more than `count` lines carry one of `messages`; throws `TimedOut` after `limit`.
    package func wait(for messages: Set<String>, after count: Int, within limit: Duration = .seconds(10)) async throws {
        try await withTimeout(limit) {
            while !Task.isCancelled {
                let seen = self.appended.count
                if self.count(messages) > count { return }
                await self.appended.wait(after: seen)
            }
        }
    }

    fileprivate func append(_ line: String) {
        lines.withLock { $0.append(line) }
        appended.increment()
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        let label: String
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.append("\(event.level) \(label): \(event.message) \(fields) [\(event.source)]")
        }
    }
}
