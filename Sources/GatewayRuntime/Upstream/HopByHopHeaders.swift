import HTTPTypes
import NIOHTTP1
import ScopeCatalog

/// Headers that belong to one connection and never cross the proxy (RFC 9110 §7.6.1), plus the
/// caller credentials and target headers that must never reach HighLevel, and those that would let
/// a caller change after authorization what HighLevel's stack runs (a method override, a rewritten
/// URL or host, a name with `_` that some proxies fold into `-`, as `X_Location_Id`).
///
/// Names are compared without case and without building a lower-cased copy: on the fast path
/// every header of every request and answer passes through here.
package enum HopByHopHeaders {
    static let always: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// Dropped from requests: hop-by-hop, and what the gateway sets itself or must not forward.
    static let request: Set<String> = always.union([
        "host", "content-length", "authorization", "cookie", "x-location-id", "x-company-id", "expect", "x-request-id",
        "x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url",
        "x-forwarded-host", "forwarded",
    ])

    /// `always` and `request` by UTF-8 length (the index), for lookups that neither hash nor allocate.
    private static let alwaysByLength = byLength(always)
    private static let requestByLength = byLength(request)

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

    /// The caller's headers as they go upstream, written into the head HighLevel gets.
    static func upstreamRequest(_ fields: HTTPFields, into head: inout UpstreamRequestHead.Writer) {
        let listed = fields[.connection] == nil ? [] : named(inConnection: fields[values: .connection])
        for field in fields where keptUpstream(field.name.rawName, listed: listed) {
            head.add(name: field.name.rawName, value: field.value)
        }
    }

    /// The same from the head as NIO parsed it (the fast path forwards it without converting it back).
    static func upstreamRequest(_ wire: HTTPHeaders, into head: inout UpstreamRequestHead.Writer) {
        let listed = listedInConnection(wire)
        for (name, value) in wire where keptUpstream(name, listed: listed) {
            head.add(name: name, value: value)
        }
    }

    /// HighLevel's headers as they go back to the caller, in HTTP types (`ProxyResponder`, which
    /// adds the request id), less its request id.
    package static func downstreamResponse(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        fields.reserveCapacity(headers.count + 1)
        downstreamResponse(headers) { name, value in
            guard let fieldName = HTTPField.Name(name) else { return }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }

    /// HighLevel's headers as they go back to the caller, each handed to `keep`, less its request
    /// id (the gateway's own follows).
    package static func downstreamResponse(_ headers: HTTPHeaders, _ keep: (_ name: String, _ value: String) -> Void) {
        let listed = listedInConnection(headers)
        for (name, value) in headers where keptDownstream(name, listed: listed) && !ASCIICase.equal(name, lowercased: "x-request-id") {
            keep(name, value)
        }
    }

    /// Names the `Connection` headers list, read without making a list of their values.
    private static func listedInConnection(_ headers: HTTPHeaders) -> Set<String> {
        var values: [String] = []
        for (name, value) in headers where ASCIICase.equal(name, lowercased: "connection") {
            // The common `Connection: keep-alive` names only a header that is hop-by-hop anyway.
            if values.isEmpty, ASCIICase.equal(value, lowercased: "keep-alive") { continue }
            values.append(value)
        }
        return values.isEmpty ? [] : named(inConnection: values)
    }

    private static func keptUpstream(_ name: String, listed: Set<String>) -> Bool {
        !contains(requestByLength, name) && !name.utf8.contains(UInt8(ascii: "_"))
            && (listed.isEmpty || !listed.contains(name.lowercased()))
    }

    private static func keptDownstream(_ name: String, listed: Set<String>) -> Bool {
        !contains(alwaysByLength, name) && (listed.isEmpty || !listed.contains(name.lowercased()))
    }

    private static func byLength(_ names: Set<String>) -> [[String]] {
        var table = [[String]](repeating: [], count: (names.map(\.utf8.count).max() ?? 0) + 1)
        for name in names { table[name.utf8.count].append(name) }
        return table
    }

    private static func contains(_ table: [[String]], _ name: String) -> Bool {
        let length = name.utf8.count
        return length < table.count && table[length].contains { ASCIICase.equal(name, lowercased: $0) }
    }
}
