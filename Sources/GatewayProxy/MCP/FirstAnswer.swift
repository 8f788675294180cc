import Synchronization

/// A tool call's answer to its agent: the call's result or its deadline's, whichever comes first;
/// the other is dropped, and the deadline's timer stops once there is an answer.
final class FirstAnswer: Sendable {
    private struct State {
        var continuation: CheckedContinuation<JSONValue, Never>?
        var timer: Task<Void, Never>?
    }

    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<JSONValue, Never>) {
        state = Mutex(State(continuation: continuation))
    }

    /// The deadline's timer, stopped at once if the answer came first.
    func arm(_ timer: Task<Void, Never>) {
        let answered = state.withLock { state in
            if state.continuation != nil { state.timer = timer }
            return state.continuation == nil
        }
        if answered { timer.cancel() }
    }

    /// Answers with `value` unless there is an answer already; true when this was the answer.
    @discardableResult
    func give(_ value: JSONValue) -> Bool {
        let (continuation, timer) = state.withLock { state in
            defer { state = State() }
            return (state.continuation, state.timer)
        }
        timer?.cancel()
        guard let continuation else { return false }
        continuation.resume(returning: value)
        return true
    }
}
