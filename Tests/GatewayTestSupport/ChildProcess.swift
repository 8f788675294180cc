import Foundation
import Synchronization

/// A program run by a test: output captured as it comes, its exit and its output awaited by
/// events (no polling), without blocking a cooperative thread.
package final class ChildProcess: Sendable {
    private struct State {
        var output = Data()
        var status: Int32?
        var outputWaiters: [(marker: String, count: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var exitWaiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let process: Process
    private let pipe = Pipe()
    private let state = Mutex(State())

    package init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = process
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.received(data)
        }
        process.terminationHandler = { [weak self] finished in
            guard let self else { return }
            self.pipe.fileHandleForReading.readabilityHandler = nil
            self.received(self.pipe.fileHandleForReading.readDataToEndOfFile())
            let status = finished.terminationReason == .uncaughtSignal ? -finished.terminationStatus : finished.terminationStatus
            let (exits, outputs) = self.state.withLock { state in
                state.status = status
                defer {
                    state.exitWaiters = []
                    state.outputWaiters = []
                }
                return (state.exitWaiters, state.outputWaiters)
            }
            let text = self.text
            for waiter in exits { waiter.resume(returning: status) }
            for waiter in outputs { waiter.continuation.resume(returning: Self.occurrences(of: waiter.marker, in: text) >= waiter.count) }
        }
    }

    /// Everything written to standard output and standard error so far.
    package var text: String { state.withLock { String(decoding: $0.output, as: UTF8.self) } }

    package func start() throws { try process.run() }

    package func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the exit; a death by signal gives the signal's negated number. A program still
    /// running after `timeout` is killed (the test then sees `-SIGKILL`).
    package func exit(timeout: Duration = .seconds(60)) async -> Int32 {
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            self.signal(SIGKILL)
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock { state in
                if state.status == nil { state.exitWaiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Waits until the output contains `marker` `count` times: false if the program exits first or
    /// `timeout` passes (the program is then killed, so nothing waits forever).
    package func output(contains marker: String, count: Int = 1, timeout: Duration = .seconds(30)) async -> Bool {
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            self.signal(SIGKILL)
        }
        defer { watchdog.cancel() }
        return await withCheckedContinuation { continuation in
            let answer: Bool? = state.withLock { state in
                let text = String(decoding: state.output, as: UTF8.self)
                if Self.occurrences(of: marker, in: text) >= count { return true }
                if state.status != nil { return false }
                state.outputWaiters.append((marker, count, continuation))
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    private static func occurrences(of marker: String, in text: String) -> Int {
        text.components(separatedBy: marker).count - 1
    }

    /// Runs to completion.
    package static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil
    ) async throws -> (status: Int32, text: String) {
        let child = ChildProcess(executable, arguments, environment: environment)
        try child.start()
        let status = await child.exit()
        return (status, child.text)
    }

    private func received(_ data: Data) {
        guard !data.isEmpty else { return }
        let ready = state.withLock { state in
            state.output.append(data)
            let text = String(decoding: state.output, as: UTF8.self)
            let ready = state.outputWaiters.filter { Self.occurrences(of: $0.marker, in: text) >= $0.count }
            state.outputWaiters.removeAll { Self.occurrences(of: $0.marker, in: text) >= $0.count }
            return ready
        }
        for waiter in ready { waiter.continuation.resume(returning: true) }
    }
}
