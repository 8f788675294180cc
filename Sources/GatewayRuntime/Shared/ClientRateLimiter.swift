import Foundation
import GatewayPolicy
import Synchronization

/// Token buckets per key (a client's name, or the address of an install callback), kept across
/// policy reloads (a changed limit takes effect at once). A mutex rather than an actor: one short
/// critical section per request, on the hot path.
///
/// Keys chosen by strangers (addresses) must not grow the table without bound: past `maxKeys`,
/// buckets idle for a whole period (full again, so no different from a new one) are dropped; if
/// every bucket is still in use, a new key is refused until one frees up.
package final class ClientRateLimiter: Sendable {
    private struct Bucket {
        var limit: RateLimit
        var tokens: Double
        var updatedAt: Double
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxKeys: Int

    package init(maxKeys: Int = .max) {
        self.maxKeys = maxKeys
    }

    /// Takes one request from the key's budget; nil when allowed, else the seconds until one is available.
    package func acquire(client: String, limit: RateLimit, now: Double = Date().timeIntervalSinceReferenceDate) -> Double? {
        buckets.withLock { buckets in
            if buckets[client] == nil, buckets.count >= maxKeys {
                buckets = buckets.filter { now - $0.value.updatedAt < $0.value.limit.periodSeconds }
                if buckets.count >= maxKeys { return limit.periodSeconds }
            }
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
