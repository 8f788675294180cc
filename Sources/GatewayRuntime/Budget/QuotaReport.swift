import Foundation
import TokenVault

/// `GET /health/quota`: per location (or company), its HighLevel budget as this replica keeps it,
/// what HighLevel last reported, and each client's use of the current window.
package struct QuotaReport: Encodable {
    package struct Location: Encodable {
        var kind: String
        var id: String
        /// The burst this replica enforces (HighLevel's `X-RateLimit-Max` when lower) and its window.
        var burst: Int
        var windowSeconds: Double
        var sentInWindow: Int
        var inFlight: Int
        var queued: Int
        var dailyLimit: Int
        var sentToday: Int
        /// What HighLevel's last answer said (nil: nothing heard yet).
        var highLevelRemaining: Int?
        var highLevelDailyLimit: Int?
        var highLevelDailyRemaining: Int?
        /// Until when no request goes (a 429 pause, the window, a spent day), if it is so now.
        var blockedUntil: Date?
        var dailySpent: Bool
        var clients: [String: Int]

        /// Room left in the window as this replica sees it (HighLevel's own count when lower).
        var remaining: Int { max(0, min(burst - sentInWindow, highLevelRemaining ?? .max)) }
        /// What is left of the day, by HighLevel's count or this replica's.
        var dailyRemaining: Int { max(0, min(dailyLimit - sentToday, highLevelDailyRemaining ?? .max)) }
        /// Near or at its limits: waiting requests, no room now, under a fifth of the burst or a
        /// tenth of the day left. Only such locations get metrics of their own.
        var underPressure: Bool {
            queued > 0 || blockedUntil != nil || remaining * 5 <= burst || dailyRemaining * 10 <= (highLevelDailyLimit ?? dailyLimit)
        }

        init(budget: LocationBudget, owner: TokenOwner, blocked: LocationBudget.Blocked?, now: Double) {
            kind = owner.kind
            id = owner.id
            burst = budget.burst
            windowSeconds = budget.limits.window
            sentInWindow = budget.sentInWindow
            inFlight = budget.inFlight
            queued = budget.waiters.count
            dailyLimit = budget.limits.daily
            sentToday = budget.sentToday
            highLevelRemaining = budget.report?.remaining
            highLevelDailyLimit = budget.dailyLimit
            highLevelDailyRemaining = budget.dailyRemaining
            switch blocked {
            case .until(let until):
                blockedUntil = Date(timeIntervalSince1970: until)
                dailySpent = false
            case .dailyUntil(let until):
                blockedUntil = Date(timeIntervalSince1970: until)
                dailySpent = true
            case nil:
                blockedUntil = nil
                dailySpent = false
            }
            clients = budget.usedByClient
        }
    }

    var enforced: Bool
    var burst: String
    var daily: Int
    var queueSeconds: Double
    var replicas: Int
    var locations: [Location]

    package init(enforced: Bool, burst: String, daily: Int, queueSeconds: Double, replicas: Int, locations: [Location]) {
        self.enforced = enforced
        self.burst = burst
        self.daily = daily
        self.queueSeconds = queueSeconds
        self.replicas = replicas
        self.locations = locations
    }
}
