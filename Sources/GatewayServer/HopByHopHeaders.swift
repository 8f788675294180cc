import HTTPTypes
import NIOHTTP1

/// Headers that belong to one connection and never cross the proxy (RFC 9110 §7.6.1), plus the
/// caller credentials and target headers that must never reach HighLevel.
enum HopByHopHeaders {
    static let always: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// Dropped from requests in addition: the gateway sets its own, or they are the caller's secrets.
    static let callerOnly: Set<String> = [
        "host", "content-length", "authorization", "cookie", "x-location-id", "x-company-id", "expect", "x-request-id",
    ]

    /// Names listed in `Connection` (they are hop-by-hop for this message).
    static func named(inConnection values: [String]) -> Set<String> {
        Set(values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
    }

    /// The caller's headers as they go upstream.
    static func upstreamRequest(_ fields: HTTPFields) -> HTTPHeaders {
        let dropped = always.union(callerOnly).union(named(inConnection: fields[values: .connection]))
        var headers = HTTPHeaders()
        for field in fields where !dropped.contains(field.name.canonicalName) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        return headers
    }

    /// HighLevel's headers as they go back to the caller.
    static func downstreamResponse(_ headers: HTTPHeaders) -> HTTPFields {
        let dropped = always.union(named(inConnection: headers[canonicalForm: "connection"].map(String.init)))
        var fields = HTTPFields()
        for (name, value) in headers where !dropped.contains(name.lowercased()) {
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }
}
