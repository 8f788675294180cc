import Foundation
import GatewayPolicy
import HTTPTypes
import HighLevelOAuth
import Hummingbird
import Logging
import NIOCore
import ScopeCatalog
import Synchronization
import TokenVault

/// The proxy listener's pipeline (DESIGN.md §2): authenticate → canonicalize → match → resolve
/// target → decide → pick token → forward, replaying once after an upstream 401. Every answer
/// the gateway makes itself is a JSON error; HighLevel's answers pass through as they are.
struct ProxyResponder: HTTPResponder {
    typealias Context = ProxyRequestContext

    let store: PolicyStore
    let tokens: TokenSelector
    let forwarder: UpstreamForwarder
    let limits: GatewayConfiguration.Limits
    let rateLimiter: ClientRateLimiter
    let metrics: GatewayMetrics
    let logger: Logger
    private let authenticator = CallerAuthenticator()
    private let resolver = TargetResolver()

    static let requestIdHeader = HTTPField.Name("X-Request-Id")!
    private static let targetFields: Set<String> = ["locationId", "companyId"]

    init(
        store: PolicyStore, broker: TokenBroker, forwarder: UpstreamForwarder, limits: GatewayConfiguration.Limits,
        metrics: GatewayMetrics, logger: Logger
    ) {
        self.metrics = metrics
        self.store = store
        self.tokens = TokenSelector(broker: broker)
        self.forwarder = forwarder
        self.limits = limits
        self.rateLimiter = ClientRateLimiter()
        self.logger = logger
    }

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let requestId = Self.requestId(request.headers)
        var entry = AccessLogEntry(requestId: requestId, method: request.method.rawValue)
        var response: Response
        do {
            response = try await handle(request, &entry, requestId: requestId, loop: context.eventLoop)
        } catch {
            entry.code = error.code.rawValue
            response = error.response(requestId: requestId)
        }
        response.headers[Self.requestIdHeader] = requestId
        finish(&entry, status: response.status.code, started: started)
        return response
    }

    private func handle(
        _ request: Request, _ entry: inout AccessLogEntry, requestId: String, loop: any EventLoop
    ) async throws(GatewayError) -> Response {
        let routed = try route(method: request.method, path: request.head.path, headers: request.headers, entry: &entry)
        let (body, jsonFields) = try await readBody(request)
        var requestTarget = try resolver.resolve(
            match: routed.match, query: routed.target.query, headers: request.headers, body: jsonFields, client: routed.client)
        requestTarget = await tokens.completing(requestTarget, for: routed.route)
        try authorize(routed, requestTarget, entry: &entry)

        let owner = try TokenSelector.owner(for: routed.route, target: requestTarget)
        let token = try await tokens.token(for: routed.route, owner: owner)
        let upstreamStarted = ContinuousClock.now
        let send = { @Sendable (token: Secret) async throws(GatewayError) -> UpstreamResponse in
            try await forwarder.send(
                method: request.method, target: routed.target, headers: request.headers, body: body, token: token, requestId: requestId,
                on: loop)
        }
        var upstream = try await send(token.token)
        if upstream.head.status == .unauthorized, body.isReplayable {
            entry.replayed = true
            upstream = try await replay(routed.route, after: upstream, with: token, send: send)
        }
        entry.upstreamStatus = Int(upstream.head.status.code)
        metrics.upstream(ContinuousClock.now - upstreamStarted)
        let responseBody: ResponseBody
        switch upstream.body {
        case .buffered(let buffer): responseBody = buffer.map { ResponseBody(byteBuffer: $0) } ?? ResponseBody()
        case .streamed(let stream): responseBody = ResponseBody(asyncSequence: stream)
        }
        return Response(
            status: .init(code: Int(upstream.head.status.code), reasonPhrase: upstream.head.status.reasonPhrase),
            headers: HopByHopHeaders.downstreamResponse(upstream.head.headers), body: responseBody)
    }

    // MARK: Stages shared with the fast path

    /// What the first stages make of a request: who calls, what it names, which route.
    struct Routed {
        let client: ClientPolicy
        let target: CanonicalTarget
        let match: RouteMatch

        var route: CatalogRoute { match.route }
    }

    /// Header size, caller key, canonical target and route, against the policies in force now.
    func route(
        method: HTTPRequest.Method, path: String?, headers: HTTPFields, entry: inout AccessLogEntry
    ) throws(GatewayError) -> Routed {
        let headerBytes = headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
        guard headerBytes <= limits.maxHeaderBytes else {
            throw GatewayError(.badRequest, "the request headers exceed \(limits.maxHeaderBytes) bytes")
        }
        let snapshot = store.snapshot
        let client = try authenticator.authenticate(headers, policies: snapshot.policies)
        entry.client = client.name
        let target = try CanonicalTarget(path ?? "", maxLength: limits.maxURLBytes)
        guard let routeMethod = RouteMethod(rawValue: method.rawValue),
            let match = snapshot.catalog.match(method: routeMethod, path: target.path)
        else {
            throw GatewayError(.routeUnknown, snapshot.catalog.unmatchedReason(method: method.rawValue, path: target.path))
        }
        entry.template = match.route.templateText
        return Routed(client: client, target: target, match: match)
    }

    /// The target a body-less request names in its path, query and headers.
    func requestTarget(_ routed: Routed, headers: HTTPFields) throws(GatewayError) -> RequestTarget {
        try resolver.resolve(match: routed.match, query: routed.target.query, headers: headers, body: nil, client: routed.client)
    }

    /// The client's policy decision, then its rate limit.
    func authorize(_ routed: Routed, _ requestTarget: RequestTarget, entry: inout AccessLogEntry) throws(GatewayError) {
        entry.location = requestTarget.location
        entry.company = requestTarget.company
        let decision = routed.client.decide(routed.route, target: requestTarget)
        entry.decision = decision.outcome.rawValue
        guard decision.allowed else { throw GatewayError(.policyDenied, decision.reason) }
        let client = routed.client
        if let limit = client.rateLimit, let wait = rateLimiter.acquire(client: client.name, limit: limit) {
            entry.decision = "rate_limited"
            throw GatewayError(.rateLimited, "\(client.name) is over its rate limit of \(limit)", retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }

    /// After HighLevel answered 401: a newer token (or a refresh), then the request once more.
    func replay(
        _ route: CatalogRoute, after rejected: UpstreamResponse, with token: AccessToken,
        send: (Secret) async throws(GatewayError) -> UpstreamResponse
    ) async throws(GatewayError) -> UpstreamResponse {
        await rejected.discard()
        let renewed: AccessToken
        do {
            renewed = try await tokens.broker.accessToken(replacing: token)
        } catch {
            throw TokenSelector.gatewayError(error)
        }
        try TokenSelector.checkScope(route, renewed)
        return try await send(renewed.token)
    }

    /// Logs the request's line and counts it.
    func finish(_ entry: inout AccessLogEntry, status: Int, started: ContinuousClock.Instant) {
        entry.status = status
        entry.latency = ContinuousClock.now - started
        entry.emit(to: logger)
        metrics.request(client: entry.client, template: entry.template, decision: entry.decision ?? "error", status: entry.status)
    }

    /// Buffers a JSON body (to read its target fields) or a small one (to replay it); streams the rest.
    private func readBody(_ request: Request) async throws(GatewayError) -> (UpstreamForwarder.Body, JSONTargetScanner.Fields?) {
        let lengthHeader = request.headers[.contentLength]
        let length = lengthHeader.flatMap { Int($0) }
        if lengthHeader != nil, length == nil { throw GatewayError(.badRequest, "invalid Content-Length") }
        if let length, length > limits.maxBodyBytes {
            throw GatewayError(.payloadTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes")
        }
        let hasBody = (length ?? 0) > 0 || request.headers[.transferEncoding] != nil
        guard hasBody else { return (.empty, nil) }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let isJSON = contentType.hasPrefix("application/json") || contentType.contains("+json")
        if isJSON {
            let buffer = try await collect(request, upTo: limits.inspectJSONBytes, what: "JSON bodies over \(limits.inspectJSONBytes) bytes cannot be inspected for their target")
            do {
                let fields = try JSONTargetScanner.scan(Array(buffer.readableBytesView), fields: Self.targetFields)
                return (.buffered(buffer), fields)
            } catch {
                throw GatewayError(.badRequest, error == .tooDeep ? "the JSON body is nested too deeply" : "the JSON body is not valid JSON")
            }
        }
        if let length, length <= limits.replayBodyBytes {
            return (.buffered(try await collect(request, upTo: length, what: "the body is longer than its Content-Length")), nil)
        }
        return (.streamed(request.body, length: length), nil)
    }

    private func collect(_ request: Request, upTo limit: Int, what: String) async throws(GatewayError) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch {
            throw GatewayError(.payloadTooLarge, what)
        }
    }

    /// The caller's request id when it is short and plain, else a new one: 24 hex digits, a random
    /// prefix drawn once per process and a counter (unique without a system call per request).
    static func requestId(_ headers: HTTPFields) -> String {
        if let given = headers[requestIdHeader], (1...128).contains(given.utf8.count),
            given.utf8.allSatisfy({ $0 < 0x80 && (($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E) })
        {
            return given
        }
        let high = requestIdPrefix
        let low = requestIdCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 24) { buffer in
            for index in 0..<8 { buffer[index] = ASCIIHex.digit(UInt8(truncatingIfNeeded: high >> (28 - 4 * index)) & 0xF) }
            for index in 0..<16 { buffer[8 + index] = ASCIIHex.digit(UInt8(truncatingIfNeeded: low >> (60 - 4 * index)) & 0xF) }
            return 24
        }
    }

    private static let requestIdPrefix = UInt32.random(in: .min ... .max)
    private static let requestIdCounter = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 62)))
}

/// One structured line per proxied request: never a token, key, path id or Authorization value.
struct AccessLogEntry {
    var requestId: String
    var method: String
    var client: String?
    var template: String?
    var location: String?
    var company: String?
    var decision: String?
    var code: String?
    var status = 0
    var upstreamStatus: Int?
    var replayed = false
    var latency: Duration = .zero

    func emit(to logger: Logger) {
        guard logger.logLevel <= .info else { return }
        let microseconds = latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000
        var metadata: Logger.Metadata = [
            "requestId": "\(requestId)", "method": "\(method)", "status": "\(status)",
            "latencyMs": "\(Double(microseconds) / 1_000)",
        ]
        if let client { metadata["client"] = "\(client)" }
        if let template { metadata["template"] = "\(template)" }
        if let location { metadata["location"] = "\(location)" }
        if let company { metadata["company"] = "\(company)" }
        if let decision { metadata["decision"] = "\(decision)" }
        if let code { metadata["code"] = "\(code)" }
        if let upstreamStatus { metadata["upstreamStatus"] = "\(upstreamStatus)" }
        if replayed { metadata["replayed"] = "true" }
        logger.info("request", metadata: metadata)
    }
}
