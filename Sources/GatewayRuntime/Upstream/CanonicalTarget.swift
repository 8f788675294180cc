import GatewayPolicy

/// A request target split into a canonical path and the raw query. Only unreserved characters are
/// percent-decoded; every form that could mean something else to another parser is refused. The
/// path that is authorized is exactly the path that is forwarded.
package struct CanonicalTarget: Sendable, Equatable {
    package let path: String
    /// Forwarded unchanged (without the `?`).
    package let query: String?

    /// Parses an origin-form target (`/path?query`). Throws `bad_request` with the reason.
    package init(_ target: String, maxLength: Int) throws(GatewayError) {
        let bytes = Array(target.utf8)
        guard bytes.count <= maxLength else { throw Self.refuse("the URL is longer than \(maxLength) bytes") }
        guard bytes.first == UInt8(ascii: "/") else {
            throw Self.refuse("the request target must be a path starting with '/' (absolute or authority form refused)")
        }
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F { throw Self.refuse("the URL contains a control byte") }
            if byte >= 0x80 { throw Self.refuse("the URL contains a raw non-ASCII byte; percent-encode it") }
            if byte == UInt8(ascii: "#") { throw Self.refuse("the URL contains a fragment") }
        }
        let split = bytes.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = bytes[..<(split ?? bytes.endIndex)]
        query = split.map { String(decoding: bytes[($0 + 1)...], as: UTF8.self) }
        if pathBytes.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: ";") }) {
            path = try Self.canonicalPath(pathBytes)
        } else {
            // Nothing to decode or refuse byte-wise: the path is already canonical if its segments are.
            try Self.checkSegments(pathBytes)
            path = split == nil ? target : String(decoding: pathBytes, as: UTF8.self)
        }
    }

    private init(path: String, query: String?) {
        self.path = path
        self.query = query
    }

    /// The same target with the path in the spelling a route match gave it (`RouteMatch.respelledPath`).
    package func respelled(_ path: String) -> CanonicalTarget {
        CanonicalTarget(path: path, query: query)
    }

    private static func canonicalPath(_ bytes: ArraySlice<UInt8>) throws(GatewayError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.endIndex, let high = ASCIIHex.value(bytes[index + 1]), let low = ASCIIHex.value(bytes[index + 2])
                else { throw refuse("the path has an invalid percent escape") }
                let value = high << 4 | low
                if isUnreserved(value) {
                    out.append(value)
                } else if value == UInt8(ascii: "/") || value == UInt8(ascii: "\\") {
                    throw refuse("the path has an encoded slash or backslash")
                } else if value == UInt8(ascii: "%") {
                    throw refuse("the path has an encoded '%' (double encoding)")
                } else if value < 0x20 || value == 0x7F {
                    throw refuse("the path has an encoded control byte")
                } else {
                    out += [UInt8(ascii: "%"), ASCIIHex.digit(value >> 4), ASCIIHex.digit(value & 0xF)]
                }
                decoded.append(value)
                index += 3
            case UInt8(ascii: "\\"):
                throw refuse("the path contains a backslash")
            case UInt8(ascii: ";"):
                throw refuse("the path contains ';' (path parameters are refused)")
            default:
                out.append(byte)
                decoded.append(byte)
                index += 1
            }
        }
        guard String(validating: decoded, as: UTF8.self) != nil else {
            throw refuse("the path does not decode to valid UTF-8 (over-long or broken encoding)")
        }
        try checkSegments(out[...])
        return String(decoding: out, as: UTF8.self)
    }

    /// No empty segment but a single trailing one, no `.` or `..` segment.
    private static func checkSegments(_ path: ArraySlice<UInt8>) throws(GatewayError) {
        var start = path.startIndex + 1
        while start <= path.endIndex {
            let end = path[start...].firstIndex(of: UInt8(ascii: "/")) ?? path.endIndex
            let length = end - start
            if length == 0, end != path.endIndex {
                throw refuse("the path has an empty segment ('//')")
            }
            if length == 1 || length == 2, path[start..<end].allSatisfy({ $0 == UInt8(ascii: ".") }) {
                throw refuse("the path has a '.' or '..' segment")
            }
            start = end + 1
        }
    }

    private static func refuse(_ reason: String) -> GatewayError { GatewayError(.badRequest, reason) }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
