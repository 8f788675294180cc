import Synchronization

/// Events stored since start that no client subscribes to, by type (the catalog's names, or
/// `other`: a bounded set): `/health/webhooks` shows them, so an event no subscriber could
/// receive is visible rather than silently acknowledged. Behind a mutex: the receiver adds from
/// any request's task, the admin listener reads, and neither should wait on an actor hop.
final class UnroutedEvents: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func add(_ type: String) { counts.withLock { $0[type, default: 0] += 1 } }

    var byType: [String: Int] { counts.withLock { $0 } }
}
