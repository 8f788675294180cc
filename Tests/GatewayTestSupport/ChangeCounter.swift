import Synchronization

/// A counter of completed changes that tasks can wait on: `wait(after: n)` returns once the count
/// passes `n` (or the waiting task is cancelled). Lets tests and tooling await an asynchronous
/// effect (a log line that says it happened) instead of sleeping.
package final class ChangeCounter: Sendable {
    private struct State {
        var count = 0
        var nextId = 0
        var waiters: [Int: (after: Int, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    package var count: Int { state.withLock { $0.count } }

    package func increment() {
        let ready = state.withLock { state in
            state.count += 1
            let count = state.count
            let ready = state.waiters.filter { $0.value.after < count }
            for id in ready.keys { state.waiters[id] = nil }
            return ready.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume() }
    }

    package func wait(after count: Int) async {
        let id = state.withLock { state in
            state.nextId += 1
            return state.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.count > count || Task.isCancelled { return true }
                    state.waiters[id] = (count, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.continuation.resume()
        }
    }
}
