import Foundation
import GatewayPolicy
import Synchronization

/// Token buckets per client, kept across policy reloads (a changed limit takes effect at once).
/// A mutex rather than an actor: one short critical section per request, on the hot path.
final class ClientRateLimiter: Sendable {
    private struct Bucket {
        var limit: RateLimit
        var tokens: Double
        var updatedAt: Double
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    /// Takes one request from the client's budget; nil when allowed, else the seconds until one is available.
    func acquire(client: String, limit: RateLimit, now: Double = Date().timeIntervalSinceReferenceDate) -> Double? {
        buckets.withLock { buckets in
            var bucket = buckets[client] ?? Bucket(limit: limit, tokens: Double(limit.requests), updatedAt: now)
            if bucket.limit != limit {
                bucket.limit = limit
                bucket.tokens = min(bucket.tokens, Double(limit.requests))
            }
            let rate = Double(limit.requests) / limit.periodSeconds
            bucket.tokens = min(Double(limit.requests), bucket.tokens + max(0, now - bucket.updatedAt) * rate)
            bucket.updatedAt = now
            defer { buckets[client] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
    }
}
