import Foundation
import GatewayPolicy
import Logging
import NIOHTTP1
import ScopeCatalog
import Synchronization
import TokenVault

/// HighLevel's rate limits per location (or company), kept by the gateway for everything that
/// uses the app's tokens: at most `burst` requests in any window and `daily` a day go upstream,
/// shared fairly between the clients (weighted by `upstream_share`), corrected by what HighLevel
/// reports. A request over the budget waits in its location's queue up to `queue_seconds`, else is
/// refused (`upstream_rate_limited`) without reaching HighLevel.
///
/// A mutex rather than an actor, as `ClientRateLimiter`: the common case (room in the window) is
/// one short critical section on the hot path, from the event loop. Waiting costs no thread: a
/// waiter is a continuation, resumed by a timer when the window slides, by an answer, or by its
/// deadline; a caller that goes away (its task is cancelled) leaves the queue. The clock is
/// injectable for tests of the value type; this class reads the system's.
package final class UpstreamBudget: Sendable {
    package struct Settings: Sendable, Equatable {
        package var burst: RateLimit
        package var daily: Int
        package var queueSeconds: Double
        package var enforced: Bool
        /// How often a probe passes while HighLevel reports the day spent.
        var probeSeconds: Double = 60
        /// Waiters per location at most (a full queue answers at once).
        var queueCapacity: Int { max(16, burst.requests * 2) }
    }

    /// A place in a location's budget, held until HighLevel answers (`finished`).
    package struct Ticket: Sendable, Equatable {
        var owner: TokenOwner
        var number: UInt64
    }

    /// What a request's first look at its budget found.
    package enum Admission: Equatable {
        case admitted(Ticket)
        /// No room now: wait in `acquire`.
        case mustWait
    }

    private struct State {
        /// Each location's budget, boxed so that it is changed where it lives: changed through the
        /// dictionary's subscript it would be copied whole (its arrays then have two owners), and
        /// taken out and put back it would cost two lookups, at every request.
        final class Box {
            var budget: LocationBudget

            init(_ budget: LocationBudget) {
                self.budget = budget
            }
        }

        var locations: [TokenOwner: Box] = [:]
        var continuations: [UInt64: CheckedContinuation<Result<UInt64, GatewayError>, Never>] = [:]
        /// When each location's pump is next due (one timer per location).
        var timers: [TokenOwner: Double] = [:]
        var nextId: UInt64 = 0

        /// Runs `body` on `owner`'s budget (a new one from `limits` when there is none; nil when
        /// there is none and no `limits`), with the rest of the state.
        mutating func budget<T>(
            _ owner: TokenOwner, orNew limits: LocationBudget.Limits? = nil, _ body: (inout LocationBudget, inout State) -> T
        ) -> T? {
            let box: Box
            if let existing = locations[owner] {
                box = existing
            } else if let limits {
                box = Box(LocationBudget(limits: limits))
                locations[owner] = box
            } else {
                return nil
            }
            return body(&box.budget, &self)
        }
    }

    package let settings: Settings
    private let replicas: ReplicaHeartbeat
    private let state = Mutex(State())
    private let metrics: GatewayMetrics
    private let logger: Logger

    package init(settings: Settings, replicas: ReplicaHeartbeat, metrics: GatewayMetrics, logger: Logger) {
        self.settings = settings
        self.replicas = replicas
        self.metrics = metrics
        self.logger = logger
    }

    /// This replica's part of the limits (`ReplicaHeartbeat` divides among the live replicas).
    private var limits: LocationBudget.Limits {
        let burst = replicas.share(of: settings.burst)
        let daily = replicas.share(of: RateLimit(requests: settings.daily, periodSeconds: 86_400)).requests
        return LocationBudget.Limits(burst: burst.requests, window: burst.periodSeconds, daily: daily, probeInterval: settings.probeSeconds)
    }

    private static var now: Double { Date().timeIntervalSince1970 }

    /// Admits a request at once when there is room and nobody waits before it; refuses one that
    /// could not go before its wait would end. Nil when the budget is not enforced.
    package func admit(_ owner: TokenOwner, client: String) throws(GatewayError) -> Admission? {
        guard settings.enforced else { return nil }
        let now = Self.now
        let limits = self.limits
        let outcome: Result<Admission, GatewayError> = state.withLock { state in
            state.budget(owner, orNew: limits) { budget, _ -> Result<Admission, GatewayError> in
                budget.limits = limits
                switch budget.blockedOnArrival(at: now) {
                case nil where budget.waiters.isEmpty:
                    return .success(.admitted(Ticket(owner: owner, number: budget.admit(client, at: now))))
                case .dailyUntil(let until):
                    return .failure(Self.refusal(owner, retryAfter: until - now, daily: true))
                case .until(let until) where until - now > settings.queueSeconds && budget.waiters.isEmpty:
                    return .failure(Self.refusal(owner, retryAfter: until - now, daily: false))
                default:
                    return .success(.mustWait)
                }
            }!
        }
        if case .failure = outcome { metrics.upstreamBudgetRefusal(client: client) }
        return try outcome.get()
    }

    /// Waits for room, fairly among the location's clients, up to `queue_seconds`.
    package func acquire(_ owner: TokenOwner, client: String, weight: Double) async throws(GatewayError) -> Ticket {
        let started = ContinuousClock.now
        let id = state.withLock { state in
            state.nextId += 1
            return state.nextId
        }
        let waiter = LocationBudget.Waiter(id: id, client: client, weight: max(0.01, weight))
        let result: Result<UInt64, GatewayError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let limits = self.limits
                let queued = state.withLock { state in
                    state.budget(owner, orNew: limits) { budget, state in
                        guard budget.enqueue(waiter, capacity: settings.queueCapacity) else { return false }
                        state.continuations[id] = continuation
                        return true
                    }!
                }
                guard queued else {
                    continuation.resume(
                        returning: .failure(
                            GatewayError(
                                .upstreamRateLimited, "too many requests wait for \(owner)'s HighLevel budget", retryAfter: 1)))
                    return
                }
                logger.debug("waiting for HighLevel's budget", metadata: ["owner": "\(owner)", "client": "\(client)"])
                let seconds = settings.queueSeconds
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(seconds * 1_000)))
                    self.expire(id, owner: owner)
                }
                pump(owner)
            }
        } onCancel: {
            if leave(id, owner: owner, with: .failure(GatewayError(.upstreamRateLimited, "the caller went away while waiting"))) {
                logger.debug(
                    "the caller went away; it left the queue for HighLevel's budget", metadata: ["owner": "\(owner)", "client": "\(client)"])
            }
        }
        metrics.upstreamQueueWait(ContinuousClock.now - started)
        if case .failure = result { metrics.upstreamBudgetRefusal(client: client) }
        return Ticket(owner: owner, number: try result.get())
    }

    /// A request admitted earlier is done; `head` is HighLevel's answer when there was one.
    package func finished(_ ticket: Ticket, head: HTTPResponseHead?) {
        let owner = ticket.owner
        let now = Self.now
        let heard = head.map(Heard.init)
        let waiting = state.withLock { state in
            state.budget(owner) { budget, _ in
                budget.finished(ticket.number, at: now)
                if let heard {
                    budget.learn(
                        status: heard.status, max: heard.max, remaining: heard.remaining,
                        intervalMilliseconds: heard.intervalMilliseconds, dailyLimit: heard.dailyLimit,
                        dailyRemaining: heard.dailyRemaining, at: now)
                }
                return !budget.waiters.isEmpty
            } ?? false
        }
        if heard?.status == 429 { metrics.upstreamRateLimited() }
        if waiting { pump(owner) }
    }

    /// What HighLevel's answer says of its limits, read before taking the lock.
    private struct Heard {
        var status: Int
        var max: Int?
        var remaining: Int?
        var intervalMilliseconds: Int?
        var dailyLimit: Int?
        var dailyRemaining: Int?

        /// One pass over the answer's headers (a look-up per header read them all six times); the
        /// first of each counts, as `first(name:)` would have it.
        init(_ head: HTTPResponseHead) {
            status = Int(head.status.code)
            var retryAfter: Int?
            for (name, value) in head.headers {
                guard let first = name.utf8.first, ASCIICase.lower(first) == UInt8(ascii: "x") || ASCIICase.lower(first) == UInt8(ascii: "r")
                else { continue }
                func number(_ current: Int?, _ lower: String) -> Int? {
                    current ?? (ASCIICase.equal(name, lowercased: lower) ? Int(value.trimmingCharacters(in: .whitespaces)) : nil)
                }
                max = number(max, "x-ratelimit-max")
                remaining = number(remaining, "x-ratelimit-remaining")
                intervalMilliseconds = number(intervalMilliseconds, "x-ratelimit-interval-milliseconds")
                retryAfter = number(retryAfter, "retry-after")
                dailyLimit = number(dailyLimit, "x-ratelimit-limit-daily")
                dailyRemaining = number(dailyRemaining, "x-ratelimit-daily-remaining")
            }
            intervalMilliseconds = intervalMilliseconds ?? retryAfter.map { $0 * 1_000 }
        }
    }

    /// Lets waiters go while there is room, fairest first; refuses them all when the day is
    /// spent; else sets a timer for when room comes back.
    private func pump(_ owner: TokenOwner) {
        let now = Self.now
        var resumed: [(CheckedContinuation<Result<UInt64, GatewayError>, Never>, Result<UInt64, GatewayError>)] = []
        var timer: Double?
        state.withLock { state in
            _ = state.budget(owner) { budget, state in
                serving: while !budget.waiters.isEmpty {
                    switch budget.blockedForQueue(at: now) {
                    case nil:
                        guard let waiter = budget.next() else { break serving }
                        if let continuation = state.continuations.removeValue(forKey: waiter.id) {
                            resumed.append((continuation, .success(budget.admitFromQueue(waiter.client, at: now))))
                        }
                    case .dailyUntil(let until):
                        for waiter in budget.removeAllWaiters() {
                            if let continuation = state.continuations.removeValue(forKey: waiter.id) {
                                resumed.append((continuation, .failure(Self.refusal(owner, retryAfter: until - now, daily: true))))
                            }
                        }
                    case .until(let until):
                        if state.timers[owner].map({ $0 > until }) ?? true {
                            state.timers[owner] = until
                            timer = until
                        }
                        break serving
                    }
                }
            }
        }
        for (continuation, result) in resumed { continuation.resume(returning: result) }
        if let timer {
            Task {
                try? await Task.sleep(for: .milliseconds(Int64(max(0, timer - Self.now) * 1_000) + 1))
                self.state.withLock { state in if state.timers[owner] == timer { state.timers[owner] = nil } }
                self.pump(owner)
            }
        }
    }

    /// A waiter's time is up: it leaves the queue, refused with the time until room comes back.
    private func expire(_ id: UInt64, owner: TokenOwner) {
        let now = Self.now
        let retryAfter: Double = state.withLock { state in
            state.budget(owner) { budget, _ in
                switch budget.blocked(at: now) {
                case .until(let until), .dailyUntil(let until): until - now
                case nil: 1
                }
            } ?? 1
        }
        leave(id, owner: owner, with: .failure(Self.refusal(owner, retryAfter: retryAfter, daily: false)))
    }

    /// Takes a waiter out of the queue with `result`; false when it had left already.
    @discardableResult
    private func leave(_ id: UInt64, owner: TokenOwner, with result: Result<UInt64, GatewayError>) -> Bool {
        let continuation = state.withLock { state in
            state.budget(owner) { budget, state in
                budget.remove(id) == nil ? nil : state.continuations.removeValue(forKey: id)
            } ?? nil
        }
        continuation?.resume(returning: result)
        return continuation != nil
    }

    private static func refusal(_ owner: TokenOwner, retryAfter: Double, daily: Bool) -> GatewayError {
        GatewayError(
            .upstreamRateLimited,
            daily ? "HighLevel's daily budget for \(owner) is spent" : "HighLevel's budget for \(owner) has no room before the wait would end",
            retryAfter: max(1, Int(retryAfter.rounded(.up))))
    }

    /// Every location's budget as this replica sees it, for `GET /health/quota`.
    package func report() -> [QuotaReport.Location] {
        let now = Self.now
        return state.withLock { state in
            state.locations.keys.sorted().compactMap { owner in
                state.budget(owner) { budget, _ in
                    QuotaReport.Location(budget: budget, owner: owner, blocked: budget.blocked(at: now), now: now)
                }
            }
        }
    }
}

extension UpstreamBudget.Settings {
    package init(burst: RateLimit, daily: Int, queueSeconds: Double, enforced: Bool) {
        self.init(burst: burst, daily: daily, queueSeconds: queueSeconds, enforced: enforced, probeSeconds: 60)
    }
}
