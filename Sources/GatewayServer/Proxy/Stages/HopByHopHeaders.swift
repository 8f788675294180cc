import HTTPTypes
import NIOHTTP1

/// Headers that belong to one connection and never cross the proxy (RFC 9110 §7.6.1), plus the
/// caller credentials and target headers that must never reach HighLevel.
enum HopByHopHeaders {
    static let always: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// Dropped from requests: hop-by-hop, and what the gateway sets itself or must not forward.
    static let request: Set<String> = always.union([
        "host", "content-length", "authorization", "cookie", "x-location-id", "x-company-id", "expect", "x-request-id",
    ])

    /// Names listed in `Connection` values (hop-by-hop for this message), lower-cased.
    static func named(inConnection values: [String]) -> Set<String> {
        var names: Set<String> = []
        for value in values {
            for token in value.utf8.split(separator: UInt8(ascii: ",")) {
                let trimmed = token.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
                names.insert(String(decoding: trimmed, as: UTF8.self).lowercased())
            }
        }
        return names
    }

    /// The caller's headers as they go upstream.
    static func upstreamRequest(_ fields: HTTPFields) -> HTTPHeaders {
        let listed = fields[.connection] == nil ? [] : named(inConnection: fields[values: .connection])
        var headers = HTTPHeaders()
        headers.reserveCapacity(fields.count + 3)
        for field in fields where !request.contains(field.name.canonicalName) && !listed.contains(field.name.canonicalName) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        return headers
    }

    /// HighLevel's headers as they go back to the caller.
    static func downstreamResponse(_ headers: HTTPHeaders) -> HTTPFields {
        let listed = listedInConnection(headers)
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 1)
        for (name, value) in headers {
            guard let fieldName = keptDownstream(name, listed: listed) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }

    /// The same, kept in NIO's form (for answers written below Hummingbird).
    static func downstreamResponseHeaders(_ headers: HTTPHeaders) -> HTTPHeaders {
        let listed = listedInConnection(headers)
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count + 1)
        for (name, value) in headers where keptDownstream(name, listed: listed) != nil {
            kept.add(name: name, value: value)
        }
        return kept
    }

    private static func listedInConnection(_ headers: HTTPHeaders) -> Set<String> {
        let connection = headers["connection"]
        // The common `Connection: keep-alive` names only a header that is hop-by-hop anyway.
        if connection.isEmpty || (connection.count == 1 && connection[0].utf8.elementsEqual("keep-alive".utf8)) { return [] }
        return named(inConnection: connection)
    }

    /// The header's name when it goes back to the caller: a valid name, neither hop-by-hop nor listed in `Connection`.
    private static func keptDownstream(_ name: String, listed: Set<String>) -> HTTPField.Name? {
        guard let fieldName = HTTPField.Name(name), !always.contains(fieldName.canonicalName), !listed.contains(fieldName.canonicalName)
        else { return nil }
        return fieldName
    }
}
