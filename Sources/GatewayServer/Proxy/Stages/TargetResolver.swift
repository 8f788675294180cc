import GatewayPolicy
import HTTPTypes
import HTTPTypes
import ScopeCatalog

/// Finds the location and company a request acts on, from every place HighLevel reads them:
/// the route's own path parameters, the query (including `locationId[]` forms), the
/// `X-Location-Id`/`X-Company-Id` headers and a JSON body's top-level fields. All that are present
/// must agree; a client allowed exactly one location (or company) may omit it.
struct TargetResolver: Sendable {
    struct Source: Sendable {
        var value: String
        var place: String
    }

    static let locationHeader = HTTPField.Name("X-Location-Id")!
    static let companyHeader = HTTPField.Name("X-Company-Id")!

    func resolve(
        match: RouteMatch, query: String?, headers: HTTPFields, body: JSONTargetScanner.Fields?, client: ClientPolicy
    ) throws(GatewayError) -> RequestTarget {
        let queryFields = Self.queryValues(query, names: ["locationId", "companyId"])
        /// Every place that names the target `field` (`locationId`, `companyId`), with the header of its kind.
        func sources(_ field: String, _ header: HTTPField.Name) -> [Source] {
            (match[parameter: field].map { [Source(value: $0, place: "path")] } ?? [])
                + queryFields[field, default: []].map { Source(value: $0, place: "query") }
                + headers[values: header].map { Source(value: $0, place: "\(header.rawName) header") }
                + (body?[field] ?? []).map { Source(value: $0, place: "JSON body") }
        }
        let location = try agreed("location", sources("locationId", Self.locationHeader))
        let company = try agreed("company", sources("companyId", Self.companyHeader))
        return RequestTarget(location: location ?? client.locations.single, company: company ?? client.companies.single)
    }

    private func agreed(_ what: String, _ all: [Source]) throws(GatewayError) -> String? {
        guard let first = all.first else { return nil }
        if let other = all.first(where: { $0.value != first.value }) {
            throw GatewayError(
                .targetConflict,
                "the \(what) in the \(first.place) ('\(first.value)') differs from the one in the \(other.place) ('\(other.value)')")
        }
        guard !first.value.isEmpty else { throw GatewayError(.badRequest, "the \(what) id in the \(first.place) is empty") }
        return first.value
    }

    /// Percent-decoded values of the named query parameters; `name[]` and `name[0]` count as `name`,
    /// as HighLevel's server reads them. A query that holds neither a name nor a `%` has none, and
    /// is not parsed at all (the common case).
    static func queryValues(_ query: String?, names: Set<String>) -> [String: [String]] {
        guard let query, !query.isEmpty,
            query.utf8.contains(UInt8(ascii: "%")) || names.contains(where: { Self.contains(query.utf8, $0.utf8) })
        else { return [:] }
        var values: [String: [String]] = [:]
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            var key = decode(pair[..<(equals ?? pair.endIndex)])
            if let bracket = key.firstIndex(of: "[") { key = String(key[..<bracket]) }
            guard names.contains(key) else { continue }
            values[key, default: []].append(equals.map { decode(pair[pair.index(after: $0)...]) } ?? "")
        }
        return values
    }

    /// Whether `needle` occurs in `haystack`, byte for byte (no Unicode or locale rules).
    private static func contains(_ haystack: String.UTF8View, _ needle: String.UTF8View) -> Bool {
        guard let first = needle.first, needle.count <= haystack.count else { return false }
        var start = haystack.startIndex
        while let found = haystack[start...].firstIndex(of: first) {
            if haystack[found...].starts(with: needle) { return true }
            start = haystack.index(after: found)
        }
        return false
    }

    /// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a broken escape stays as written.
    private static func decode(_ bytes: Substring.UTF8View.SubSequence) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), bytes.distance(from: index, to: bytes.endIndex) > 2,
                let high = ASCIIHex.value(bytes[bytes.index(after: index)]), let low = ASCIIHex.value(bytes[bytes.index(index, offsetBy: 2)])
            {
                out.append(high << 4 | low)
                index = bytes.index(index, offsetBy: 3)
                continue
            } else {
                out.append(byte)
            }
            index = bytes.index(after: index)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
