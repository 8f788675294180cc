import Foundation
import Synchronization

/// Since when the database has not answered `/readyz`'s ping, if it does not now. `/readyz` stays
/// ready for `readiness_database_grace_seconds` of an outage, so a short blip does not take every
/// replica out of the load balancer at once while cached tokens still serve; past it, not ready.
/// Behind a mutex: probes run concurrently and each only reads or sets one date.
final class DatabaseOutage: Sendable {
    private let since = Mutex<Date?>(nil)

    /// The database answered.
    func answered() { since.withLock { $0 = nil } }

    /// The database did not answer at `now`: since when it has not.
    func failed(at now: Date) -> Date {
        since.withLock { since in
            if let since { return since }
            since = now
            return now
        }
    }
}
