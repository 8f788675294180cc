import GatewayPolicy
import HTTPTypes
import ScopeCatalog

/// The pipeline's stages that need nothing but the request, the catalog and the limits in force:
/// shared by `ProxyPipeline` and `policy explain`, so an explanation is the proxy's own verdict.
struct ProxyStages: Sendable {
    static let targetFields: Set<String> = ["locationId", "companyId"]

    let limits: GatewayConfiguration.Limits
    private let resolver = TargetResolver()

    init(limits: GatewayConfiguration.Limits) {
        self.limits = limits
    }

    /// The header block, counted as the wire carries it, within `limits.max_header_bytes`.
    func checkHeaderSize(_ headers: HTTPFields) throws(GatewayError) {
        let headerBytes = headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
        guard headerBytes <= limits.maxHeaderBytes else {
            throw GatewayError(.badRequest, "the request headers exceed \(limits.maxHeaderBytes) bytes")
        }
    }

    /// Canonicalize (within `limits.max_url_bytes`), then match the route; deny by default.
    func route(method: String, path: String, catalog: CompiledCatalog) throws(GatewayError) -> (CanonicalTarget, RouteMatch) {
        let target = try CanonicalTarget(path, maxLength: limits.maxURLBytes)
        guard let routeMethod = RouteMethod(rawValue: method), let match = catalog.match(method: routeMethod, path: target.path) else {
            throw GatewayError(.routeUnknown, catalog.unmatchedReason(method: method, path: target.path))
        }
        return (target, match)
    }

    /// The location and company the request names (path, query, headers, JSON body), all agreeing.
    func target(of routed: ProxyPipeline.Routed, headers: HTTPFields, body: JSONTargetScanner.Fields?) throws(GatewayError) -> RequestTarget {
        try resolver.resolve(match: routed.match, query: routed.target.query, headers: headers, body: body, client: routed.client)
    }
}

extension ProxyStages {
    /// How a request's body is read, decided from its head before a byte of it is.
    enum BodyPlan: Equatable {
        /// No body.
        case none
        /// JSON, read whole (up to `limit`) for its target fields.
        case inspectJSON(limit: Int)
        /// Small enough to keep for a replay after an upstream 401.
        case buffer(length: Int)
        /// Streamed to HighLevel as it arrives (not replayable).
        case stream(length: Int?)
    }

    /// The body's plan: a bad or too large `Content-Length` is refused here.
    func bodyPlan(_ headers: HTTPFields) throws(GatewayError) -> BodyPlan {
        let lengthHeader = headers[.contentLength]
        let length = lengthHeader.flatMap { Int($0) }
        if lengthHeader != nil, length == nil { throw GatewayError(.badRequest, "invalid Content-Length") }
        if let length, length > limits.maxBodyBytes {
            throw GatewayError(.payloadTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes")
        }
        guard (length ?? 0) > 0 || headers[.transferEncoding] != nil else { return .none }
        let contentType = headers[.contentType]?.lowercased() ?? ""
        if contentType.hasPrefix("application/json") || contentType.contains("+json") { return .inspectJSON(limit: limits.inspectJSONBytes) }
        if let length, length <= limits.replayBodyBytes { return .buffer(length: length) }
        return .stream(length: length)
    }

    /// Why a body read under `plan` was cut off.
    func overrun(_ plan: BodyPlan) -> GatewayError {
        switch plan {
        case .inspectJSON(let limit): GatewayError(.payloadTooLarge, "JSON bodies over \(limit) bytes cannot be inspected for their target")
        case .buffer: GatewayError(.payloadTooLarge, "the body is longer than its Content-Length")
        case .none, .stream: GatewayError(.payloadTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes")
        }
    }

    /// The target fields of a JSON body (`locationId`, `companyId` at the top level).
    func targetFields(ofJSON bytes: [UInt8]) throws(GatewayError) -> JSONTargetScanner.Fields {
        do {
            return try JSONTargetScanner.scan(bytes, fields: Self.targetFields)
        } catch {
            throw GatewayError(.badRequest, error == .tooDeep ? "the JSON body is nested too deeply" : "the JSON body is not valid JSON")
        }
    }
}
