import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import NIOCore
import ScopeCatalog

/// The stages that need nothing but the request, the catalog and the limits in force: run by every
/// `ProxyExchange`, dry runs (`policy explain`) included, so an explanation is the proxy's own verdict.
/// A class: every exchange reaches the same one without copying the limits.
final class ProxyStages: Sendable {
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

    /// Canonicalize (within `limits.max_url_bytes`), then match the route; deny by default. The
    /// target returned is what is forwarded: a path that spelled a literal in another case (which
    /// HighLevel's router ignores) goes in the catalog's spelling of the route that was matched.
    func route(method: String, path: String, catalog: CompiledCatalog) throws(GatewayError) -> (CanonicalTarget, RouteMatch) {
        let target = try CanonicalTarget(path, maxLength: limits.maxURLBytes)
        if let query = target.query, Self.namesMethodOverride(query) {
            throw GatewayError(.badRequest, "the query names _method, which could change the method HighLevel runs after this one was authorized")
        }
        guard let routeMethod = RouteMethod(rawValue: method), let match = catalog.match(method: routeMethod, path: target.path) else {
            throw GatewayError(.routeUnknown, catalog.unmatchedReason(method: method, path: target.path))
        }
        return (match.respelledPath.map(target.respelled) ?? target, match)
    }

    /// The method-override parameter, and the bytes any spelling of it without a `%` holds: made
    /// once, not for every query.
    private static let methodOverride: (names: Set<String>, mentions: [String]) = (["_method"], ["method"])

    /// Whether a query sets `_method` (as method-override middleware reads it), in any spelling
    /// a form decoder reads as that name. A query without `method` or `%` is not parsed.
    private static func namesMethodOverride(_ query: String) -> Bool {
        do {
            return try !FormDecoder.queryValues(query, names: methodOverride.names, mentions: methodOverride.mentions).isEmpty
        } catch {
            return true
        }
    }

    /// The location and company the request names (path, query, headers, body), all agreeing;
    /// the client's single one when it names none.
    func target(
        of match: RouteMatch, query: String?, headers: HTTPFields, body: BodyTarget?, client: ClientPolicy
    ) throws(GatewayError) -> RequestTarget {
        try resolver.resolve(match: match, query: query, headers: headers, body: body, client: client)
    }
}

extension ProxyStages {
    /// A body HighLevel parses, so the gateway reads it for its target first.
    enum InspectedBody: Equatable {
        case json
        case form
        case multipart(boundary: String)
        /// Without a `Content-Type`, or of a type a server may read as JSON though none says so:
        /// read as JSON when it parses as JSON; else it must not name a target.
        case undeclared

        /// How the body is named in refusals and conflicts.
        var place: String {
            switch self {
            case .json: "JSON body"
            case .form: "form body"
            case .multipart: "multipart body"
            case .undeclared: "body"
            }
        }
    }

    /// How a request's body is read, decided from its head before a byte of it is.
    enum BodyPlan: Equatable {
        /// No body.
        case none
        /// Read whole (up to `limit`) for its target fields.
        case inspect(InspectedBody, limit: Int)
        /// Small enough to keep for a replay after an upstream 401.
        case buffer(length: Int)
        /// Streamed to HighLevel as it arrives (not replayable).
        case stream(length: Int?)
    }

    /// The body's plan. Refused here: a bad or too large `Content-Length`; a `Content-Type` that
    /// is repeated or not a media type; a body HighLevel parses that the gateway could not read as
    /// HighLevel does (compressed, or in a charset other than UTF-8).
    func bodyPlan(_ headers: HTTPFields) throws(GatewayError) -> BodyPlan {
        let lengthHeader = headers[.contentLength]
        let length = lengthHeader.flatMap { Int($0) }
        if lengthHeader != nil, length == nil { throw GatewayError(.badRequest, "invalid Content-Length") }
        if let length, length > limits.maxBodyBytes {
            throw GatewayError(.payloadTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes")
        }
        guard (length ?? 0) > 0 || headers[.transferEncoding] != nil else { return .none }
        if let inspected = try inspectedBody(headers) {
            let limit = if case .multipart = inspected { limits.inspectMultipartBytes } else { limits.inspectJSONBytes }
            return .inspect(inspected, limit: limit)
        }
        if let length, length <= limits.replayBodyBytes { return .buffer(length: length) }
        return .stream(length: length)
    }

    private func inspectedBody(_ headers: HTTPFields) throws(GatewayError) -> InspectedBody? {
        let types = headers[values: .contentType]
        guard let text = types.first else { return .undeclared }
        guard types.count == 1 else { throw GatewayError(.badRequest, "the request has more than one Content-Type") }
        guard let media = MediaType(text) else { throw GatewayError(.badRequest, "the Content-Type is not a media type") }
        let inspected: InspectedBody
        if media.isJSON {
            inspected = .json
        } else if media.isForm {
            inspected = .form
        } else if media.isMultipart {
            guard let boundary = media.parameters["boundary"] else { throw GatewayError(.badRequest, "the multipart Content-Type has no boundary") }
            inspected = .multipart(boundary: boundary)
        } else if media.mayBeReadAsJSON {
            inspected = .undeclared
        } else {
            return nil
        }
        if let charset = media.parameters["charset"], charset.lowercased() != "utf-8" {
            throw GatewayError(.badRequest, "a \(inspected.place) in charset \(charset) cannot be read for its target; send UTF-8")
        }
        if let encoding = headers[.contentEncoding], encoding.lowercased() != "identity" {
            throw GatewayError(.badRequest, "a compressed \(inspected.place) cannot be read for its target; send it uncompressed")
        }
        return inspected
    }

    /// Why a body read under `plan` was cut off.
    /// A body read whole, as its plan has it: its target fields found when it is inspected.
    func payload(_ body: ByteBuffer, _ plan: BodyPlan) throws(GatewayError) -> (UpstreamForwarder.Payload, BodyTarget?) {
        switch plan {
        case .none:
            return (.empty, nil)
        case .inspect(let inspected, let limit):
            guard body.readableBytes <= limit else { throw overrun(plan) }
            return (.buffered(body), try target(of: inspected, bytes: Array(body.readableBytesView)))
        case .buffer, .stream:
            return (.buffered(body), nil)
        }
    }

    func overrun(_ plan: BodyPlan) -> GatewayError {
        switch plan {
        case .inspect(let body, let limit): GatewayError(.payloadTooLarge, "a \(body.place) over \(limit) bytes cannot be read for its target")
        case .buffer: GatewayError(.payloadTooLarge, "the body is longer than its Content-Length")
        case .none, .stream: GatewayError(.payloadTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes")
        }
    }

    /// The target fields a body names: a JSON object's top-level `locationId` and `companyId`,
    /// a form's parameters (decoded as the query is), a multipart body's text fields.
    func target(of body: InspectedBody, bytes: [UInt8]) throws(GatewayError) -> BodyTarget {
        let fields: [String: [String]]
        switch body {
        case .json:
            do {
                fields = try JSONTargetScanner.scan(bytes, fields: Self.targetFields)
            } catch {
                throw GatewayError(.badRequest, error == .tooDeep ? "the JSON body is nested too deeply" : "the JSON body is not valid JSON")
            }
        case .undeclared:
            if let read = try? JSONTargetScanner.scan(bytes, fields: Self.targetFields) {
                fields = read
            } else if Self.targetFields.contains(where: { bytes.firstRange(of: $0.utf8) != nil }) {
                throw GatewayError(
                    .badRequest, "the body names a locationId or companyId but is not JSON under a JSON Content-Type; send it as application/json")
            } else {
                fields = [:]
            }
        case .form:
            fields = try TargetResolver.formValues(bytes, in: body.place)
        case .multipart(let boundary):
            do {
                fields = try MultipartTargetScanner.scan(bytes, boundary: boundary, names: Self.targetFields)
            } catch {
                switch error {
                case .malformed(let reason): throw GatewayError(.badRequest, "the multipart body is malformed: \(reason)")
                case .unreadable(let reason): throw GatewayError(.badRequest, "the multipart body cannot be read for its target: \(reason)")
                }
            }
        }
        return BodyTarget(fields: fields, place: body.place)
    }
}

/// The target fields a request body names, and the kind of body (for messages).
struct BodyTarget: Sendable, Equatable {
    var fields: [String: [String]]
    var place: String
}
