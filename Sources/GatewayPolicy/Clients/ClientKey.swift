import Foundation
import Synchronization

/// One key a client may present (`key:`, or each entry of `keys:`): its digest, the moment it
/// stops being accepted, and when it was last presented. Several keys let a service's key be
/// rotated without a moment where neither works; the last use tells an admin when the old key can go.
package struct ClientKey: Sendable {
    package let digest: KeyDigest
    /// Refused from this moment on (a date in the policy means: through that day, UTC).
    package let expires: Date?
    /// Shared by every reload that keeps this digest, so the last use survives policy edits.
    package var usage: KeyUsage

    package init(digest: KeyDigest, expires: Date? = nil, usage: KeyUsage = KeyUsage()) {
        self.digest = digest
        self.expires = expires
        self.usage = usage
    }

    package func isExpired(at now: Date) -> Bool { expires.map { now >= $0 } ?? false }

    /// Expiring within `window` of `now` (or already expired).
    package func expires(within window: TimeInterval, of now: Date) -> Bool { expires.map { $0.timeIntervalSince(now) < window } ?? false }

    /// `KeyDigest.short` of this key's digest.
    package var shortDigest: String { digest.short }

    /// How long before its expiry a key is warned about (log, `/readyz`).
    package static let warningWindow: TimeInterval = 7 * 86_400

    /// A policy's `expires:`: `YYYY-MM-DD` (the key works through that day, UTC) or an ISO 8601 time.
    package static func expiry(parsing text: String) -> Date? {
        if let instant = try? Date(text, strategy: .iso8601) { return instant }
        guard let day = try? Date(text + "T00:00:00Z", strategy: .iso8601) else { return nil }
        return day.addingTimeInterval(86_400)
    }
}

/// When a key was last presented, in whole seconds. An atomic, not a lock: it is written on every
/// authenticated request on every event loop, and stored only when the second changed, so the
/// hot path mostly just reads it.
package final class KeyUsage: Sendable {
    private let lastUsedSeconds = Atomic<Int64>(0)
    /// The UTC day (days since 1970) of the last use noted past the expiry warning.
    private let warnedUseDay = Atomic<Int64>(0)

    package init() {}

    /// True for the first use on `now`'s UTC day of a key past its expiry warning: such a use is
    /// kept once a day (the audit trail), not on every request.
    package func firstWarnedUseToday(_ now: Date) -> Bool {
        let day = Int64(now.timeIntervalSince1970 / 86_400)
        let seen = warnedUseDay.load(ordering: .relaxed)
        return seen != day && warnedUseDay.compareExchange(expected: seen, desired: day, ordering: .relaxed).exchanged
    }

    package func record(_ now: Date) {
        let seconds = Int64(now.timeIntervalSince1970)
        if lastUsedSeconds.load(ordering: .relaxed) != seconds { lastUsedSeconds.store(seconds, ordering: .relaxed) }
    }

    /// Nil when never presented since the gateway started.
    package var lastUsed: Date? {
        let seconds = lastUsedSeconds.load(ordering: .relaxed)
        return seconds == 0 ? nil : Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
