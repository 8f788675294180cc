import GatewayPolicy
import GatewayRuntime
import HTTPTypes
import ScopeCatalog

/// Finds the location and company a request acts on, from every place HighLevel reads them:
/// the route's own path parameters, the query (including `locationId[]` forms), the
/// `X-Location-Id`/`X-Company-Id` headers and the body (JSON's top-level fields, a form's
/// parameters, a multipart body's text fields). All that are present
/// must agree; a client allowed exactly one location (or company) may omit it.
struct TargetResolver: Sendable {
    static let locationHeader = HTTPField.Name("X-Location-Id")!
    static let companyHeader = HTTPField.Name("X-Company-Id")!

    func resolve(
        match: RouteMatch, query: String?, headers: HTTPFields, body: BodyTarget?, client: ClientPolicy
    ) throws(GatewayError) -> RequestTarget {
        let queryFields = try Self.queryValues(query)
        /// The one value every place that names the target `field` (`locationId`, `companyId`) gives it, with the header of its kind.
        func agreed(_ what: String, _ field: String, _ header: HTTPField.Name) throws(GatewayError) -> String? {
            var agreement = Agreement(what: what)
            if let value = match[parameter: field] { try agreement.add(value, "path") }
            for value in queryFields[field] ?? [] { try agreement.add(value, "query") }
            for value in headers[values: header] { try agreement.add(value, "\(header.rawName) header") }
            for value in body?.fields[field] ?? [] { try agreement.add(value, body?.place ?? "body") }
            return try agreement.value()
        }
        let location = try agreed("location", "locationId", Self.locationHeader)
        let company = try agreed("company", "companyId", Self.companyHeader)
        return RequestTarget(location: location ?? client.locations.single, company: company ?? client.companies.single)
    }

    /// The places that name one target, which must all give the same non-empty value. Only the
    /// first place is kept (for messages), so the common request builds no list.
    private struct Agreement {
        let what: String
        private var first: (value: String, place: String)?

        init(what: String) {
            self.what = what
        }

        mutating func add(_ value: String, _ place: @autoclosure () -> String) throws(GatewayError) {
            guard let first else {
                first = (value, place())
                return
            }
            // Byte for byte: canonically equivalent spellings are two ids to HighLevel.
            guard value.utf8.elementsEqual(first.value.utf8) else {
                throw GatewayError(
                    .targetConflict,
                    "the \(what) in the \(first.place) ('\(first.value)') differs from the one in the \(place()) ('\(value)')")
            }
        }

        func value() throws(GatewayError) -> String? {
            guard let first else { return nil }
            guard !first.value.isEmpty else { throw GatewayError(.badRequest, "the \(what) id in the \(first.place) is empty") }
            return first.value
        }
    }

    /// The target fields of a query, decoded as HighLevel's server reads them (`FormDecoder`). A
    /// query that holds neither a target name nor a `%` names none, and is not parsed at all (the common case).
    static func queryValues(_ query: String?) throws(GatewayError) -> [String: [String]] {
        guard let query, !query.isEmpty else { return [:] }
        do {
            return try FormDecoder.queryValues(query, names: ProxyStages.targetFields, mentions: ProxyStages.targetFields)
        } catch {
            throw refusal(error, in: "query")
        }
    }

    /// The target fields of form-encoded text (a query or a form body).
    static func formValues(_ text: some Collection<UInt8>, in place: String) throws(GatewayError) -> [String: [String]] {
        do {
            return try FormDecoder.values(text, names: ProxyStages.targetFields)
        } catch {
            throw refusal(error, in: place)
        }
    }

    private static func refusal(_ failure: FormDecoder.Failure, in place: String) -> GatewayError {
        switch failure {
        case .ambiguous(let name):
            GatewayError(.badRequest, "the \(name) in the \(place) has a broken percent-escape that HighLevel's parsers read differently")
        }
    }
}
