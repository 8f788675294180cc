import Synchronization
import TokenVault

/// Wakes tasks waiting for news of an owner's token (another process renewed or revoked it).
///
/// A mutex, not an actor: `signal` is called from the vault's change feed and must not wait for a
/// hop; a waiter registers and is resumed exactly once, by a signal or by its own timer.
final class ChangeSignal: Sendable {
    private struct Waiter {
        var owner: TokenOwner
        var continuation: CheckedContinuation<Void, Never>
    }

    private let waiters = Mutex<[UInt64: Waiter]>([:])
    private let nextId = Atomic<UInt64>(0)

    /// Wakes every task waiting for `owner`.
    func signal(_ owner: TokenOwner) {
        let woken = waiters.withLock { waiters in
            let ids = waiters.filter { $0.value.owner == owner }.map(\.key)
            return ids.compactMap { waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when `owner` is signalled or `limit` has passed, whichever is first.
    func wait(for owner: TokenOwner, atMost limit: Duration) async {
        let id = nextId.wrappingAdd(1, ordering: .relaxed).newValue
        await withCheckedContinuation { continuation in
            waiters.withLock { $0[id] = Waiter(owner: owner, continuation: continuation) }
            // Started once registered, so it cannot fire before there is something to resume;
            // after a signal it finds nothing and ends.
            Task {
                try? await Task.sleep(for: limit)
                self.resume(id)
            }
        }
    }

    private func resume(_ id: UInt64) {
        waiters.withLock { $0.removeValue(forKey: id) }?.continuation.resume()
    }
}
