import Foundation

/// What one location (or company) may still send to HighLevel, as a value: the gateway's own count
/// in a sliding window and in the day, corrected by what HighLevel last reported, and the clients
/// waiting for room. `UpstreamBudget` carries out what it decides; times are seconds on one clock.
///
/// Invariants: this replica's sends that may still be in HighLevel's window are `inFlightSends`
/// (by ticket) and `answered` (runs of answers in the order they came, so the window expires them
/// from the front); `usedByClient` counts both per client. `answered` holds at most one run per
/// `window / 1000` of answers, whatever the rate or the burst, so no request waits while it grows
/// or is compacted (a queue of every answer held 350,000 of them at a 35,000 a second, and its
/// copies were the budget's slowest requests). A send in flight counts, and one answered counts
/// until `window` after its answer, or after its run's last answer, a thousandth of the window at
/// most later (HighLevel counted it somewhere between sending and answering, so only then
/// is it surely out of HighLevel's window, whatever the latency). A request is admitted only when (1) the window holds fewer than the burst
/// (the configured one, or HighLevel's `X-RateLimit-Max` when lower), (2) fewer were sent since
/// HighLevel's last report than it said remained (requests in flight included, so a burst of
/// concurrent calls cannot overshoot it), (3) no 429 pause runs, and (4) the day is not spent
/// (then one probe passes per `probeInterval` to learn when it is back).
struct LocationBudget {
    struct Limits: Equatable {
        var burst: Int
        var window: Double
        var daily: Int
        /// How often a probe may pass while HighLevel reports no daily budget left.
        var probeInterval: Double
    }

    /// Why a request cannot go now.
    enum Blocked: Equatable {
        /// Room comes back at this time (the window slides, a pause ends).
        case until(Double)
        /// The day is spent; the next probe may pass at this time.
        case dailyUntil(Double)
    }

    struct Waiter {
        var id: UInt64
        var client: String
        var weight: Double
    }

    /// HighLevel's last word on the burst: how many requests it counted in its window that are
    /// not this replica's (other replicas, other systems using the app), until that window passes.
    struct Report {
        var others: Int
        var remaining: Int
        var at: Double
    }

    var limits: Limits
    private var inFlightSends: [UInt64: String] = [:]
    /// Answers within a thousandth of a window of the run's first: counted per client, until a
    /// window after the run's last.
    private struct Run {
        var first: Double
        var last: Double
        var total: Int
        var byClient: [(client: String, count: Int)]
    }

    /// Answered sends, oldest run first, from `answeredStart` on (a queue on an array).
    private var answered: [Run] = []
    private var answeredStart = 0
    /// The sends in `answered` from `answeredStart` on.
    private var answeredCount = 0
    private(set) var usedByClient: [String: Int] = [:]
    private var nextTicket: UInt64 = 0
    private(set) var day = 0
    private(set) var sentToday = 0
    /// HighLevel's `X-RateLimit-Max`, when lower than the configured burst.
    private(set) var learnedBurst: Int?
    private(set) var report: Report?
    /// HighLevel's `X-RateLimit-Daily-Remaining` and `-Limit-Daily`.
    private(set) var dailyRemaining: Int?
    private(set) var dailyLimit: Int?
    private(set) var pausedUntil = 0.0
    private(set) var nextProbe = 0.0
    private(set) var waiters: [Waiter] = []
    private var lastQueueGrant = -Double.infinity

    init(limits: Limits) {
        self.limits = limits
    }

    var burst: Int { min(limits.burst, learnedBurst ?? .max) }
    var inFlight: Int { inFlightSends.count }
    /// Sends that may still be in HighLevel's window: in flight, or answered within a window.
    var sentInWindow: Int { inFlightSends.count + answeredCount }
    /// How many runs of answers the window holds (bounded, see the invariants).
    var answeredRuns: Int { answered.count - answeredStart }

    /// Nil when a request may go now; else until when it may not.
    mutating func blocked(at now: Double) -> Blocked? {
        prune(now)
        if dailySpent {
            return now >= nextProbe ? nil : .dailyUntil(nextProbe)
        }
        if now < pausedUntil { return .until(pausedUntil) }
        let others = report.map { now - $0.at < limits.window ? $0.others : 0 } ?? 0
        guard sentInWindow + others >= burst else { return nil }
        // Room comes back when enough answered sends have left the window, or when the others'
        // count lapses; if answers are still missing, an answer brings the next look.
        var needed = sentInWindow + others - burst + 1
        var expiring = now
        for run in answered[answeredStart...] {
            needed -= run.total
            if needed <= 0 {
                expiring = run.last
                break
            }
        }
        var until = expiring + limits.window
        if let report, others > 0 { until = Swift.min(until, report.at + limits.window) }
        return .until(until)
    }

    /// Like `blocked`, for the queue: waiters are let go one per `window / burst` at most, so a
    /// saturated location's capacity comes back as a steady stream, not in clumps a window apart
    /// (a modest client then waits a fraction of the window, not all of it).
    mutating func blockedForQueue(at now: Double) -> Blocked? {
        if let blocked = blocked(at: now) { return blocked }
        return now < lastQueueGrant + queueSpacing ? .until(lastQueueGrant + queueSpacing) : nil
    }

    /// The time between two grants from the queue: the window shared evenly by the burst.
    private var queueSpacing: Double { limits.window / Double(Swift.max(1, burst)) }

    /// For a request that just arrived: while the queue was busy within the last window, it paces
    /// (and goes through the fair pick) like a waiter; an idle location lets a burst through at once.
    mutating func blockedOnArrival(at now: Double) -> Blocked? {
        now - lastQueueGrant < limits.window ? blockedForQueue(at: now) : blocked(at: now)
    }

    /// Counts a waiter that goes now. The queue keeps its cadence: a grant that ran late (its timer
    /// fired after its slot, on a busy machine) is counted at its slot, so lateness does not add up
    /// to capacity lost; after a gap longer than a slot the cadence starts again from now.
    mutating func admitFromQueue(_ client: String, at now: Double) -> UInt64 {
        let slot = lastQueueGrant + queueSpacing
        lastQueueGrant = now - slot < queueSpacing ? slot : now
        return admit(client, at: now)
    }

    /// Counts a request that goes now; its ticket, to say when it is answered.
    @discardableResult
    mutating func admit(_ client: String, at now: Double) -> UInt64 {
        nextTicket += 1
        inFlightSends[nextTicket] = client
        usedByClient[client, default: 0] += 1
        sentToday += 1
        // The probe of a spent day, or the day's last request: the next one waits an interval.
        if dailySpent { nextProbe = now + limits.probeInterval }
        return nextTicket
    }

    /// A request admitted earlier is done (answered or failed).
    mutating func finished(_ ticket: UInt64, at now: Double) {
        guard let client = inFlightSends.removeValue(forKey: ticket) else { return }
        answeredCount += 1
        if answered.count > answeredStart, now - answered[answered.count - 1].first < limits.window / 1_000 {
            let newest = answered.count - 1
            answered[newest].last = now
            answered[newest].total += 1
            if let index = answered[newest].byClient.firstIndex(where: { $0.client == client }) {
                answered[newest].byClient[index].count += 1
            } else {
                answered[newest].byClient.append((client, 1))
            }
        } else {
            answered.append(Run(first: now, last: now, total: 1, byClient: [(client, 1)]))
        }
    }

    /// What HighLevel said in its answer's headers (any of them may be missing), and whether it
    /// answered 429: then the location pauses for the interval it names.
    mutating func learn(
        status: Int, max: Int?, remaining: Int?, intervalMilliseconds: Int?, dailyLimit: Int?, dailyRemaining: Int?, at now: Double
    ) {
        if let max, max > 0 { learnedBurst = max < limits.burst ? max : nil }
        if let remaining {
            // HighLevel counted `burst - remaining`; ours in its window are our sends (in flight
            // ones perhaps not yet counted there, which only makes the others' share look smaller).
            let counted = Swift.max(0, burst - remaining)
            report = Report(others: Swift.max(0, counted - sentInWindow), remaining: remaining, at: now)
        }
        if let dailyLimit { self.dailyLimit = dailyLimit }
        if let dailyRemaining {
            if dailyRemaining <= 0, !dailySpentByHighLevel { nextProbe = now + limits.probeInterval }
            self.dailyRemaining = dailyRemaining
        }
        if status == 429 {
            let interval = intervalMilliseconds.map { Double($0) / 1_000 } ?? limits.window
            pausedUntil = Swift.max(pausedUntil, now + interval)
        }
    }

    /// Adds a waiter; false when the queue is full.
    mutating func enqueue(_ waiter: Waiter, capacity: Int) -> Bool {
        guard waiters.count < capacity else { return false }
        waiters.append(waiter)
        return true
    }

    mutating func remove(_ id: UInt64) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index)
    }

    mutating func removeAllWaiters() -> [Waiter] {
        defer { waiters = [] }
        return waiters
    }

    /// The waiter that goes next: the one whose client used least of the window for its weight
    /// (its sends in the window plus this one, over its weight); the earliest among equals. A
    /// client asking for less than its share is therefore served first, however long a greedy
    /// client's queue is.
    mutating func next() -> Waiter? {
        guard !waiters.isEmpty else { return nil }
        var best = 0
        var bestScore = Double.infinity
        for (index, waiter) in waiters.enumerated() {
            let score = Double(usedByClient[waiter.client, default: 0] + 1) / waiter.weight
            if score < bestScore {
                best = index
                bestScore = score
            }
        }
        return waiters.remove(at: best)
    }

    private var dailySpentByHighLevel: Bool { (dailyRemaining ?? 1) <= 0 }
    private var dailySpent: Bool { dailySpentByHighLevel || sentToday >= limits.daily }

    private mutating func prune(_ now: Double) {
        let today = Int(now / 86_400)
        if today != day {
            day = today
            sentToday = 0
            if dailySpentByHighLevel { nextProbe = min(nextProbe, now) }
        }
        let horizon = now - limits.window
        while answeredStart < answered.count, answered[answeredStart].last <= horizon {
            for (client, count) in answered[answeredStart].byClient {
                let left = usedByClient[client, default: count] - count
                usedByClient[client] = left > 0 ? left : nil
            }
            answeredCount -= answered[answeredStart].total
            answeredStart += 1
        }
        // Drop the expired prefix once it is most of the array.
        if answeredStart > 64, answeredStart * 2 > answered.count {
            answered.removeFirst(answeredStart)
            answeredStart = 0
        }
    }
}
