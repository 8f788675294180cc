import GatewayPolicy
import HTTPTypes
import ScopeCatalog

/// Finds the location and company a request acts on, from every place HighLevel reads them:
/// the route's own path parameters, the query (including `locationId[]` forms), the
/// `X-Location-Id`/`X-Company-Id` headers and the body (JSON's top-level fields, a form's
/// parameters, a multipart body's text fields). All that are present
/// must agree; a client allowed exactly one location (or company) may omit it.
struct TargetResolver: Sendable {
    struct Source: Sendable {
        var value: String
        var place: String
    }

    static let locationHeader = HTTPField.Name("X-Location-Id")!
    static let companyHeader = HTTPField.Name("X-Company-Id")!

    func resolve(
        match: RouteMatch, query: String?, headers: HTTPFields, body: BodyTarget?, client: ClientPolicy
    ) throws(GatewayError) -> RequestTarget {
        let queryFields = try Self.queryValues(query)
        /// Every place that names the target `field` (`locationId`, `companyId`), with the header of its kind.
        func sources(_ field: String, _ header: HTTPField.Name) -> [Source] {
            (match[parameter: field].map { [Source(value: $0, place: "path")] } ?? [])
                + queryFields[field, default: []].map { Source(value: $0, place: "query") }
                + headers[values: header].map { Source(value: $0, place: "\(header.rawName) header") }
                + (body?.fields[field] ?? []).map { Source(value: $0, place: body?.place ?? "body") }
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

    /// The target fields of a query, decoded as HighLevel's server reads them (`FormDecoder`). A
    /// query that holds neither a target name nor a `%` names none, and is not parsed at all (the common case).
    static func queryValues(_ query: String?) throws(GatewayError) -> [String: [String]] {
        guard let query, !query.isEmpty,
            query.utf8.contains(UInt8(ascii: "%")) || ProxyStages.targetFields.contains(where: { Self.contains(query.utf8, $0.utf8) })
        else { return [:] }
        return try formValues(query.utf8, in: "query")
    }

    /// The target fields of form-encoded text (a query or a form body).
    static func formValues(_ text: some Collection<UInt8>, in place: String) throws(GatewayError) -> [String: [String]] {
        do {
            return try FormDecoder.values(text, names: ProxyStages.targetFields)
        } catch {
            switch error {
            case .ambiguous(let name):
                throw GatewayError(.badRequest, "the \(name) in the \(place) has a broken percent-escape that HighLevel's parsers read differently")
            }
        }
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
}
