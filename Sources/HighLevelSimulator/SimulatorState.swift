import Foundation

/// Whose token a simulated call carried.
package enum SimulatedOwner: Sendable, Hashable, CustomStringConvertible {
    case company(String)
    case location(String)

    package var description: String {
        switch self {
        case .company(let id): "company:\(id)"
        case .location(let id): "location:\(id)"
        }
    }

    package var id: String {
        switch self {
        case .company(let id), .location(let id): id
        }
    }
}

/// One API call the simulator answered (not the OAuth endpoints).
package struct RecordedCall: Sendable {
    package var method: String
    package var path: String
    package var query: String?
    package var owner: SimulatedOwner
    /// The access token the call carried, so tests can check which one was injected.
    package var accessToken: String
    package var version: String?
    package var headers: [(name: String, value: String)]
    package var bodyBytes: Int
    /// The first `SimulatorResponder.recordedBodyLimit` bytes of the body.
    package var body: Data
}

/// How the next API calls fail, for fault tests.
package enum CallFault: Sendable {
    /// This status, a JSON body, and these headers (e.g. 429 with `Retry-After`).
    case status(Int, headers: [String: String])
    /// Promises a body, sends the head and `after` bytes of it, then drops the connection.
    case resetMidBody(after: Int)
    /// Answers 200 and streams `chunks` bytes of the body, one every `every` (a long, slow answer).
    case slowStream(chunks: Int, every: Duration)
}

/// How the next refreshes fail, for fault tests.
package enum RefreshFault: Sendable {
    /// Answer with this HTTP status and a generic error body (a transient failure).
    case status(Int)
    /// Answer `invalid_grant` as HighLevel does for a dead refresh token.
    case invalidGrant
}

/// Everything the simulated HighLevel remembers: codes, tokens, counters and test controls.
package actor SimulatorState {
    struct Issued {
        var owner: SimulatedOwner
        var scopes: [String]
        var expiresAt: Date
    }

    struct CodeGrant {
        var redirectURI: String
        var scopes: [String]
    }

    package private(set) var configuration: SimulatorConfiguration
    private var codes: [String: CodeGrant] = [:]
    private var accessTokens: [String: Issued] = [:]
    private var refreshTokens: [String: Issued] = [:]
    private var refreshFaults: [RefreshFault] = []
    private var codeExchangeFaults: [Int] = []
    private var refreshDelays: [Duration] = []
    private var exchangeDelays: [Duration] = []
    private var callRejections = 0
    private var callFaults: [CallFault] = []
    private var admissions = 0
    private var completedRefreshes = 0

    /// What a test can wait for.
    package enum Milestone: Sendable {
        /// API calls that arrived with a valid token (before any simulated delay).
        case admittedCalls
        /// Refresh requests received (before any simulated delay).
        case receivedRefreshes
        /// Refresh requests answered or abandoned (after any simulated delay, rotation done).
        case completedRefreshes
        /// `/oauth/locationToken` requests received (before any simulated delay).
        case receivedExchanges
        /// Refresh and exchange requests received, together.
        case receivedRenewals
    }

    private var waiters: [(id: Int, milestone: Milestone, after: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var lastWaiter = 0
    private var callDelays: [Duration] = []

    /// Code exchanges received, failed ones included.
    package private(set) var codeExchanges = 0
    package private(set) var refreshes = 0
    package private(set) var exchanges = 0
    /// Refresh requests that presented a refresh token already rotated (HighLevel's "reuse").
    package private(set) var refreshTokenReuses = 0
    private var spentRefreshTokens: Set<String> = []
    package private(set) var calls: [RecordedCall] = []
    /// API calls answered 401 (unknown or expired token, or a simulated rejection).
    package private(set) var rejectedCalls = 0
    /// API calls answered 429 because they were over the configured rate limit.
    package private(set) var rateLimitedCalls = 0
    /// API calls HighLevel counted against each owner's limits: their times, and the day's total.
    private var callTimes: [SimulatedOwner: [ContinuousClock.Instant]] = [:]
    private var callsToday: [SimulatedOwner: Int] = [:]

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
    }

    // MARK: Test controls

    /// Every access token issued so far expires now (refresh tokens stay valid).
    package func expireAccessTokens() {
        for token in accessTokens.keys { accessTokens[token]?.expiresAt = .distantPast }
    }

    /// The next `count` refresh requests fail with `fault` (counted as refreshes all the same).
    package func failNextRefreshes(_ count: Int, with fault: RefreshFault) {
        refreshFaults += Array(repeating: fault, count: count)
    }

    /// The next `count` refresh requests are answered only after `delay`.
    package func delayNextRefreshes(_ count: Int, by delay: Duration) {
        refreshDelays += Array(repeating: delay, count: count)
    }

    /// The next `count` API calls answer 401 whatever their token (HighLevel revoked it early).
    package func rejectNextCalls(_ count: Int) { callRejections += count }

    /// The next `count` API calls are answered only after `delay`.
    package func delayNextCalls(_ count: Int, by delay: Duration) {
        callDelays += Array(repeating: delay, count: count)
    }

    /// Every access and refresh token ever issued (tests search logs and files for them).
    package private(set) var everyIssuedToken: [String] = []

    /// The refresh tokens currently valid (tests check that a rotated one is never sent again).
    package var liveRefreshTokens: Set<String> { Set(refreshTokens.keys) }

    // MARK: OAuth

    func issueCode(redirectURI: String, scopes: [String]) -> String {
        let code = Self.random("code")
        codes[code] = CodeGrant(redirectURI: redirectURI, scopes: configuration.grantedScopes ?? scopes)
        return code
    }

    /// The next `count` code exchanges answer `status` without spending their code (HighLevel down).
    package func failNextCodeExchanges(_ count: Int, status: Int) {
        codeExchangeFaults += Array(repeating: status, count: count)
    }

    /// A simulated failure for this code exchange, if one is queued.
    func nextCodeExchangeFault() -> Int? {
        codeExchangeFaults.isEmpty ? nil : codeExchangeFaults.removeFirst()
    }

    func redeemCode(_ code: String, redirectURI: String) -> CodeGrant? {
        guard let grant = codes[code], grant.redirectURI == redirectURI else { return nil }
        codes[code] = nil
        return grant
    }

    func issuePair(owner: SimulatedOwner, scopes: [String], withRefresh: Bool = true) -> (access: String, refresh: String?) {
        let access = Self.random("sim_at")
        everyIssuedToken.append(access)
        let expiry = Date().addingTimeInterval(TimeInterval(configuration.accessTokenLifetime))
        accessTokens[access] = Issued(owner: owner, scopes: scopes, expiresAt: expiry)
        guard withRefresh else { return (access, nil) }
        let refresh = Self.random("sim_rt")
        everyIssuedToken.append(refresh)
        refreshTokens[refresh] = Issued(owner: owner, scopes: scopes, expiresAt: .distantFuture)
        return (access, refresh)
    }

    enum RefreshOutcome {
        case rotated(owner: SimulatedOwner, scopes: [String], access: String, refresh: String)
        case fault(RefreshFault)
        case invalidGrant
    }

    func refresh(_ token: String) async -> RefreshOutcome {
        refreshes += 1
        reached(.receivedRefreshes)
        reached(.receivedRenewals)
        defer {
            completedRefreshes += 1
            reached(.completedRefreshes)
        }
        if !refreshDelays.isEmpty {
            let delay = refreshDelays.removeFirst()
            try? await Task.sleep(for: delay)
        }
        if !refreshFaults.isEmpty { return .fault(refreshFaults.removeFirst()) }
        guard let issued = refreshTokens.removeValue(forKey: token) else {
            if spentRefreshTokens.contains(token) { refreshTokenReuses += 1 }
            return .invalidGrant
        }
        spentRefreshTokens.insert(token)
        let pair = issuePair(owner: issued.owner, scopes: issued.scopes)
        return .rotated(owner: issued.owner, scopes: issued.scopes, access: pair.access, refresh: pair.refresh!)
    }

    /// The live (unexpired) access token's record, or nil.
    func validAccess(_ token: String) -> Issued? {
        guard let issued = accessTokens[token], issued.expiresAt > Date() else { return nil }
        return issued
    }

    /// Counts an exchange request and holds it for the next queued delay, if any.
    func receiveExchange() async {
        exchanges += 1
        reached(.receivedExchanges)
        reached(.receivedRenewals)
        if !exchangeDelays.isEmpty {
            let delay = exchangeDelays.removeFirst()
            try? await Task.sleep(for: delay)
        }
    }

    /// The next `count` exchange requests are answered only after `delay`.
    package func delayNextExchanges(_ count: Int, by delay: Duration) {
        exchangeDelays += Array(repeating: delay, count: count)
    }

    func countCodeExchange() { codeExchanges += 1 }

    /// Installations removed through `DELETE /marketplace/app/:appId/installations`, in order.
    package private(set) var uninstalls: [SimulatedOwner] = []

    /// The app is removed from `owner`: its tokens (and, for a company, its locations' tokens) stop working.
    func uninstall(_ owner: SimulatedOwner) {
        uninstalls.append(owner)
        var removed: Set<SimulatedOwner> = [owner]
        if case .company(let id) = owner { removed.formUnion(installedLocations(companyId: id).map(SimulatedOwner.location)) }
        accessTokens = accessTokens.filter { !removed.contains($0.value.owner) }
        refreshTokens = refreshTokens.filter { !removed.contains($0.value.owner) }
    }

    /// The next `count` API calls answer with this fault instead of their normal answer.
    package func failNextCalls(_ count: Int, with fault: CallFault) {
        callFaults += Array(repeating: fault, count: count)
    }

    func nextCallFault() -> CallFault? { callFaults.isEmpty ? nil : callFaults.removeFirst() }

    package func count(_ milestone: Milestone) -> Int {
        switch milestone {
        case .admittedCalls: admissions
        case .receivedRefreshes: refreshes
        case .completedRefreshes: completedRefreshes
        case .receivedExchanges: exchanges
        case .receivedRenewals: refreshes + exchanges
        }
    }

    /// Returns once the milestone's count passes `count`: a test can hold a call or a refresh in
    /// flight (`delayNextCalls`, `delayNextRefreshes`) and act while it is.
    package func wait(for milestone: Milestone, after count: Int) async {
        if self.count(milestone) > count { return }
        lastWaiter += 1
        let id = lastWaiter
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Looked at again here, where nothing can come between the look and the append.
                if Task.isCancelled || self.count(milestone) > count { return continuation.resume() }
                waiters.append((id, milestone, count, continuation))
            }
        } onCancel: {
            Task { await self.stopWaiting(id) }
        }
    }

    /// A cancelled wait returns at once.
    private func stopWaiting(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume()
    }

    private func reached(_ milestone: Milestone) {
        let value = count(milestone)
        let ready = waiters.filter { $0.milestone == milestone && $0.after < value }
        waiters.removeAll { $0.milestone == milestone && $0.after < value }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Whether an API call with this valid token is rejected anyway, and how long to hold it.
    func admitCall() -> (rejected: Bool, delay: Duration?) {
        admissions += 1
        reached(.admittedCalls)
        let delay = callDelays.isEmpty ? nil : callDelays.removeFirst()
        guard callRejections == 0 else {
            callRejections -= 1
            rejectedCalls += 1
            return (true, delay)
        }
        return (false, delay)
    }

    func countRejectedCall() { rejectedCalls += 1 }

    /// Counts a call against `owner`'s limits (sliding window, day): whether it is within them, and
    /// the `X-RateLimit-*` headers to answer with. Without configured limits: allowed, no headers.
    func rateLimit(_ owner: SimulatedOwner) -> (allowed: Bool, headers: [(String, String)]) {
        guard let limit = configuration.rateLimit else { return (true, []) }
        let now = ContinuousClock.now
        let window = Duration.milliseconds(Int64(limit.windowSeconds * 1_000))
        var times = callTimes[owner, default: []].filter { now - $0 < window }
        let today = callsToday[owner, default: 0]
        let allowed = times.count < limit.burst && today < limit.daily
        if allowed {
            times.append(now)
            callsToday[owner] = today + 1
        } else {
            rateLimitedCalls += 1
        }
        callTimes[owner] = times
        return (
            allowed,
            [
                ("X-RateLimit-Max", "\(limit.burst)"), ("X-RateLimit-Remaining", "\(max(0, limit.burst - times.count))"),
                ("X-RateLimit-Interval-Milliseconds", "\(Int(limit.windowSeconds * 1_000))"),
                ("X-RateLimit-Limit-Daily", "\(limit.daily)"),
                ("X-RateLimit-Daily-Remaining", "\(max(0, limit.daily - callsToday[owner, default: 0]))"),
            ]
        )
    }

    func record(_ call: RecordedCall) { calls.append(call) }

    /// Locations where the app is installed under a company, per the installer.
    func installedLocations(companyId: String) -> [String] {
        switch configuration.installer {
        case .company(let id, let locations) where id == companyId: locations
        case .location(let id, let location) where id == companyId: [location]
        default: []
        }
    }

    static func random(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "\(prefix)_\(text)"
    }
}
