import Testing

@testable import GatewayRuntime

/// The budget's decisions as a value, on a clock of the test's own (seconds).
@Suite("Location budget")
struct LocationBudgetTests {
    let limits = LocationBudget.Limits(burst: 3, window: 10, daily: 100, probeInterval: 60)

    private func check(
        _ budget: inout LocationBudget, at time: Double, _ expected: LocationBudget.Blocked?, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let blocked = budget.blocked(at: time)
        #expect(blocked == expected, sourceLocation: sourceLocation)
    }

    @Test func aSlidingWindowNeverLetsMoreThanTheBurstThrough() {
        var budget = LocationBudget(limits: limits)
        for time in [0.0, 1, 2] {
            check(&budget, at: time, nil)
            budget.finished(budget.admit("a", at: time), at: time + 0.25)
        }
        // Full until the first send leaves the window after its answer, not until a bucket refills.
        check(&budget, at: 5, .until(10.25))
        check(&budget, at: 10.25, nil)
        let late = budget.admit("a", at: 10.25)
        check(&budget, at: 10.5, .until(11.25))
        // A request in flight holds its place however long it takes; answered, for a window more.
        check(&budget, at: 30, nil)
        #expect(budget.sentInWindow == 1)
        budget.finished(late, at: 30)
        check(&budget, at: 39.75, nil)
        #expect(budget.sentInWindow == 1)
        check(&budget, at: 40, nil)
        #expect(budget.sentInWindow == 0)
        #expect(budget.usedByClient.isEmpty)
    }

    @Test func aBusyWindowHoldsFewRunsAndReleasesEachSendNoEarlierThanAWindowAfterItsAnswer() {
        let window = 10.0
        var budget = LocationBudget(limits: .init(burst: 10_000_000, window: window, daily: .max, probeInterval: 60))
        // 100,000 answers in one second, two clients interleaved, each answered as it is sent.
        let answers = 100_000
        for index in 0..<answers {
            let time = Double(index) / Double(answers)
            budget.finished(budget.admit(index % 2 == 0 ? "a" : "b", at: time), at: time)
        }
        #expect(budget.sentInWindow == answers)
        #expect(budget.usedByClient == ["a": answers / 2, "b": answers / 2])
        // One run per thousandth of the window: a second of answers is about a hundred runs.
        #expect(budget.answeredRuns <= 101)
        // None leaves before a window after its own answer...
        #expect(budget.blocked(at: window - 1e-6) == nil)
        #expect(budget.sentInWindow == answers)
        // ...and each leaves at most a thousandth of the window after.
        let lastAnswer = Double(answers - 1) / Double(answers)
        #expect(budget.blocked(at: lastAnswer + window + window / 1_000) == nil)
        #expect(budget.sentInWindow == 0)
        #expect(budget.usedByClient.isEmpty)
    }

    @Test func aFullWindowReopensWhenTheRunHoldingTheNeededSendLeaves() {
        var budget = LocationBudget(limits: limits)
        // Two answers in one run (within a thousandth of the window), then one alone.
        budget.finished(budget.admit("a", at: 0), at: 1)
        budget.finished(budget.admit("b", at: 0), at: 1.0078125)
        budget.finished(budget.admit("a", at: 0), at: 2)
        // Full: one send must leave; it is in the first run, which leaves with its last answer.
        check(&budget, at: 3, .until(11.0078125))
        check(&budget, at: 11.0078125, nil)
        #expect(budget.sentInWindow == 1)
        #expect(budget.usedByClient == ["a": 1])
    }

    @Test func aLowerMaxFromHighLevelIsLearnedAndAHigherOneIgnored() {
        var budget = LocationBudget(limits: limits)
        budget.learn(status: 200, max: 2, remaining: nil, intervalMilliseconds: 10_000, dailyLimit: nil, dailyRemaining: nil, at: 0)
        #expect(budget.burst == 2)
        budget.finished(budget.admit("a", at: 0), at: 0)
        budget.finished(budget.admit("a", at: 0), at: 0)
        check(&budget, at: 1, .until(10))
        budget.learn(status: 200, max: 50, remaining: nil, intervalMilliseconds: nil, dailyLimit: nil, dailyRemaining: nil, at: 1)
        #expect(budget.burst == 3)
    }

    @Test func requestsInFlightCountAgainstWhatHighLevelSaidRemained() {
        var budget = LocationBudget(limits: LocationBudget.Limits(burst: 100, window: 10, daily: 1_000, probeInterval: 60))
        // Four sent at once; the first answer says 3 remain: 97 counted, so 93 are others' (other
        // replicas, other systems using the app) until HighLevel's window passes.
        let tickets = (0..<4).map { _ in budget.admit("a", at: 0) }
        budget.finished(tickets[0], at: 0.25)
        budget.learn(status: 200, max: 100, remaining: 3, intervalMilliseconds: 10_000, dailyLimit: nil, dailyRemaining: nil, at: 0.25)
        // The three in flight are among the 97 or will be: three more may go, not six.
        for _ in 0..<3 {
            check(&budget, at: 0.5, nil)
            budget.admit("a", at: 0.5)
        }
        check(&budget, at: 0.5, .until(10.25))
        check(&budget, at: 10.25, nil)
    }

    @Test func a429PausesForTheIntervalHighLevelNames() {
        var budget = LocationBudget(limits: limits)
        budget.finished(budget.admit("a", at: 0), at: 0)
        budget.learn(status: 429, max: nil, remaining: nil, intervalMilliseconds: 4_000, dailyLimit: nil, dailyRemaining: nil, at: 1)
        check(&budget, at: 2, .until(5))
        check(&budget, at: 5, nil)
        // HighLevel counted 3 (remaining 0), one of them ours: the two others' lapse with its
        // window (at 16), ours with ours (at 10), and then there is room for one.
        budget.learn(status: 429, max: nil, remaining: 0, intervalMilliseconds: 2_000, dailyLimit: nil, dailyRemaining: nil, at: 6)
        check(&budget, at: 9, .until(10))
        check(&budget, at: 10, nil)
    }

    @Test func aSpentDayFailsFastWithOneProbePerInterval() {
        var budget = LocationBudget(limits: limits)
        budget.finished(budget.admit("a", at: 0), at: 0)
        budget.learn(status: 200, max: nil, remaining: nil, intervalMilliseconds: nil, dailyLimit: 200_000, dailyRemaining: 0, at: 0)
        check(&budget, at: 30, .dailyUntil(60))
        // The probe passes, and the next one waits its interval.
        check(&budget, at: 60, nil)
        let probe = budget.admit("a", at: 60)
        check(&budget, at: 61, .dailyUntil(120))
        // HighLevel says the day is back: no more probing.
        budget.finished(probe, at: 62)
        budget.learn(status: 200, max: nil, remaining: nil, intervalMilliseconds: nil, dailyLimit: 200_000, dailyRemaining: 199_999, at: 62)
        check(&budget, at: 62, nil)
        // The gateway's own count spends a day too.
        var counted = LocationBudget(limits: LocationBudget.Limits(burst: 100, window: 1, daily: 2, probeInterval: 60))
        counted.finished(counted.admit("a", at: 0), at: 0)
        counted.finished(counted.admit("a", at: 0), at: 0)
        check(&counted, at: 5, .dailyUntil(60))
        check(&counted, at: 86_400, nil)
    }

    @Test func theQueueIsLetGoAsAStreamNotInClumps() {
        var budget = LocationBudget(limits: LocationBudget.Limits(burst: 4, window: 10, daily: 1_000, probeInterval: 60))
        let first = budget.admitFromQueue("a", at: 0)
        budget.finished(first, at: 0)
        // Room for three more, but the queue releases one per 10 / 4 seconds.
        let early = budget.blockedForQueue(at: 1)
        #expect(early == .until(2.5))
        let due = budget.blockedForQueue(at: 2.5)
        #expect(due == nil)
        // While the queue was busy within the window, an arrival paces too; an idle location does not.
        let arriving = budget.blockedOnArrival(at: 1)
        #expect(arriving == .until(2.5))
        var idle = LocationBudget(limits: budget.limits)
        let fresh = idle.blockedOnArrival(at: 1)
        #expect(fresh == nil)
        check(&budget, at: 1, nil)
    }

    @Test func aLateGrantKeepsTheQueuesCadence() {
        var budget = LocationBudget(limits: LocationBudget.Limits(burst: 4, window: 10, daily: 1_000, probeInterval: 60))
        budget.finished(budget.admitFromQueue("a", at: 0), at: 0)
        // The slot was 2.5; the timer fired at 3. The next slot is still 5, not 5.5.
        budget.finished(budget.admitFromQueue("a", at: 3), at: 3)
        let onTime = budget.blockedForQueue(at: 3)
        #expect(onTime == .until(5))
        // Late by more than a slot (the queue was empty meanwhile): the cadence starts again, with no
        // grants saved up.
        var idle = LocationBudget(limits: budget.limits)
        idle.finished(idle.admitFromQueue("a", at: 0), at: 0)
        idle.finished(idle.admitFromQueue("a", at: 30), at: 30)
        let afterGap = idle.blockedForQueue(at: 30)
        #expect(afterGap == .until(32.5))
    }

    @Test func theClientThatUsedLeastForItsWeightGoesFirst() {
        var budget = LocationBudget(limits: LocationBudget.Limits(burst: 100, window: 10, daily: 1_000, probeInterval: 60))
        for _ in 0..<12 { budget.admit("greedy", at: 0) }
        budget.admit("modest", at: 0)
        var queued: [Bool] = []
        for id in 1...5 { queued.append(budget.enqueue(.init(id: UInt64(id), client: "greedy", weight: 1), capacity: 10)) }
        queued.append(budget.enqueue(.init(id: 6, client: "modest", weight: 1), capacity: 10))
        #expect(queued == Array(repeating: true, count: 6))
        let first = budget.next()
        let second = budget.next()
        #expect(first?.client == "modest")
        #expect(second?.id == 1)

        // Weighted: 12 sends at weight 4 count as 3, fewer than an unweighted client's 4.
        var weighted = LocationBudget(limits: budget.limits)
        for _ in 0..<12 { weighted.admit("heavy", at: 0) }
        for _ in 0..<4 { weighted.admit("light", at: 0) }
        _ = weighted.enqueue(.init(id: 1, client: "light", weight: 1), capacity: 10)
        _ = weighted.enqueue(.init(id: 2, client: "heavy", weight: 4), capacity: 10)
        let heavier = weighted.next()
        #expect(heavier?.client == "heavy")

        // A full queue takes no more.
        var full = LocationBudget(limits: budget.limits)
        var taken: [Bool] = []
        for id in 0..<10 { taken.append(full.enqueue(.init(id: UInt64(id), client: "x", weight: 1), capacity: 9)) }
        #expect(taken == Array(repeating: true, count: 9) + [false])
    }
}
